"""The one small interface every engine implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from generation.pipeline.types import EngineInput, FrameStream, ProgressFn


@dataclass(frozen=True)
class Availability:
    """Whether an engine can run on this server, and if not, why."""

    available: bool
    reason: str = ""
    detail: dict = field(default_factory=dict)


class Engine(ABC):
    """A talking-head engine.

    ``render`` returns a ``FrameStream`` of output-sized BGR frames; heavy
    work may happen inside ``render`` (reporting through ``progress`` in local
    0-100) or lazily while the frames are consumed. Any failure raises
    ``EngineFailed`` (or ``NoFaceError``) so the chain can fall through.
    """

    name: str = ""

    @abstractmethod
    def availability(self) -> Availability:
        """Cheap and cached: the chain asks this for every job."""

    def unsuitable_reason(self, inp: EngineInput) -> str:
        """Why this engine cannot take this particular input ('' if it can)."""
        return ""

    def prepare(self) -> None:
        """Load what every render needs (modules, compiled kernels) ahead of the first one.

        The orchestrator calls it while another step is under way; ``render`` must
        work without it. Failures are left for ``render`` to report.
        """
        return None

    @abstractmethod
    def render(self, inp: EngineInput, progress: ProgressFn) -> FrameStream: ...
