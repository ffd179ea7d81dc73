"""Per-field upload limits: how many bytes each file field of a form may carry.

form_parser.py enforces them while a form is parsed, stopping an oversized file at its limit
with a 413 that names the field; the gate (gate.py) uses the smallest of them to decide which
forms can be received whole before they are parsed.
"""

from __future__ import annotations

from django.conf import settings

# Form field name -> settings attribute holding its byte limit.
FIELD_LIMIT_SETTINGS = {
    "image": "PAKSA_MAX_IMAGE_BYTES",
    "audio": "PAKSA_MAX_AUDIO_BYTES",
    "backgroundImage": "PAKSA_MAX_BACKGROUND_BYTES",
}


def field_limit(field_name: str) -> int:
    """Byte limit of a file field; fields without their own limit get the whole-request limit."""
    attr = FIELD_LIMIT_SETTINGS.get(field_name)
    return int(getattr(settings, attr)) if attr else int(settings.PAKSA_MAX_REQUEST_BYTES)


def smallest_field_limit() -> int:
    """No file in a body of at most this many bytes can pass its field's limit."""
    return min(field_limit(name) for name in (*FIELD_LIMIT_SETTINGS, ""))


def human_bytes(size: int) -> str:
    if size >= 1 << 20:
        return f"{size / (1 << 20):g} MB"
    if size >= 1 << 10:
        return f"{size / (1 << 10):.0f} KB"
    return f"{size} bytes"
