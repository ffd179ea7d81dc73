"""The values a render request chooses from. Django-free and import-light:
`manage.py render --help` lists them without loading numpy."""

RESOLUTION_HEIGHTS = {"480p": 480, "720p": 720, "1080p": 1080}
PREPROCESS_MODES = ("full", "crop", "resize", "extcrop", "extfull")
EMOTIONS = ("neutral", "happy", "sad", "angry", "surprised")
STYLES = ("natural", "calm", "expressive")
BACKGROUND_MODES = ("none", "blur", "portrait", "cinematic", "color", "image", "chroma")
CAPTION_MODES = ("none", "file", "burn")
