"""What each generation field of the API means, in one place: the OpenAPI description
(schemas.py, api.py) and `manage.py render --help` both read it. Import-light: no pydantic or numpy."""

from generation.pipeline.background.colors import COLOR_FORMATS
from generation.pipeline.choices import BACKGROUND_MODES, CAPTION_MODES, EMOTIONS, PREPROCESS_MODES, RESOLUTION_HEIGHTS, STYLES
from voices.catalog import DEFAULT_VOICE

EXPRESSION_ENGINES = ("auto", "none", "mediapipe", "threeddfa", "openseeface", "mini_xception")


def _one_of(values) -> str:
    return "one of " + ", ".join(values)


FIELD_HELP = {
    "image": "source face photo (PNG, JPEG, WebP, BMP, TIFF or GIF); optional with text: the default avatar speaks it",
    "audio": "speech audio (wav, mp3, m4a, ogg, flac, webm); without it, text is spoken by TTS",
    "backgroundImage": "picture put behind the speaker (background mode image)",
    "text": "text spoken by TTS when no audio is given",
    "prompt": "the text that is spoken",
    "transcript": "the words of the uploaded audio: better lip sync, and captions",
    "voice": f"a voice_id from /voices (default {DEFAULT_VOICE})",
    "language": "BCP-47 code (es, pt-BR) of the audio or transcript; with text, the voice's language is spoken "
                "(default: detected from the transcript, else en)",
    "resolution": f"output height: {_one_of(RESOLUTION_HEIGHTS)} (default 720p)",
    "fps": "frames per second, 15-60 (default 25)",
    "emotion": f"{_one_of(EMOTIONS)} (default neutral)",
    "style": f"how much the head and face move: {_one_of(STYLES)} (default natural)",
    "expressionEngine": f"what reads the photo's own expression: {_one_of(EXPRESSION_ENGINES)} (default auto: the best available)",
    "preferWav2Lip2": "true: try Wav2Lip before SadTalker when both are set up",
    "preprocess": f"SadTalker's framing: {_one_of(PREPROCESS_MODES)} (default full, or PAKSA_PREPROCESS)",
    "backgroundMode": f"{_one_of(BACKGROUND_MODES)} (default none)",
    "backgroundColor": f"background mode color's colour: {COLOR_FORMATS} (default black)",
    "chromaColor": f"background mode chroma's key colour: {COLOR_FORMATS} (default #00ff00)",
    "similarity": "chroma key: how close to the key colour a pixel is keyed out, 0-1 (default 0.1)",
    "blend": "chroma key: width of the soft edge, 0-1 (default 0.05)",
    "captions": (f"{_one_of(CAPTION_MODES)}: file writes .vtt and .srt (recognising the words of audio sent without a transcript), "
                 "burn also draws them into the video (default: the files whenever the words are known)"),
}
