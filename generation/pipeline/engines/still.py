"""The last resort: the source image held for the whole audio."""

from __future__ import annotations

from generation.pipeline.engines.base import Availability, Engine
from generation.pipeline.face import crop_to_geometry
from generation.pipeline.types import EngineInput, FrameStream, ProgressFn


class StillEngine(Engine):
    name = "still"

    def availability(self) -> Availability:
        return Availability(True)

    def render(self, inp: EngineInput, progress: ProgressFn) -> FrameStream:
        frame = crop_to_geometry(inp.image, inp.geometry)
        return FrameStream(frames=iter([frame]), frame_count=inp.frame_count, static=True)
