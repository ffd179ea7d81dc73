"""Wav2Lip in-process: the generator (``net``), its mel front end (``audio``) and the engine.

The fixed face size lives here so the engine can place faces and decide whether it
can run without importing torch; ``net`` (torch) and ``audio`` (scipy) load only
once a checkpoint validates.
"""

FACE_SIZE = 96  # the generator's square face crop, in and out, pixels
