"""The ordered fallback chain: SadTalker -> Wav2Lip -> native -> still."""

from __future__ import annotations

from generation.pipeline.engines.base import Engine
from generation.pipeline.types import SkippedEngine

DEFAULT_ORDER = ("sadtalker", "wav2lip", "native", "still")


def engine_order(
    engines: dict[str, Engine], *, prefer_wav2lip: bool = False, disabled: tuple[str, ...] = ()
) -> tuple[list[Engine], list[SkippedEngine]]:
    """Engines in the order to try them, and those turned off by settings or request.

    ``still`` can never be turned off: it is the last resort.
    """
    order = list(DEFAULT_ORDER)
    if prefer_wav2lip:
        order.remove("wav2lip")
        order.insert(0, "wav2lip")
    chosen, skipped = [], []
    for name in order:
        if name not in engines:
            continue
        if name in disabled and name != "still":
            skipped.append(SkippedEngine(name, "turned off by PAKSA_DISABLED_ENGINES"))
        else:
            chosen.append(engines[name])
    return chosen, skipped
