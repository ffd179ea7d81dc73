"""How fast the Wav2Lip generator runs on this CPU (random weights; speed does not depend on them)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wav2LipBench:
    ms_per_frame: float
    batch_size: int
    threads: int
    batches: int


def wav2lip_ms_per_frame(batch_size: int = 16, batches: int = 3, threads: int = 0) -> Wav2LipBench:
    """Median generator time per 96x96 frame over ``batches`` timed batches (after one warm-up)."""
    import torch

    from generation.pipeline.engines.wav2lip.net import Wav2LipGenerator

    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Wav2LipGenerator().eval()
    audio = torch.randn(batch_size, 1, 80, 16)
    faces = torch.rand(batch_size, 6, 96, 96)
    times = []
    with torch.inference_mode():
        model(audio, faces)  # warm-up: allocator and kernel selection
        for _ in range(max(1, batches)):
            start = time.perf_counter()
            model(audio, faces)
            times.append(time.perf_counter() - start)
    times.sort()
    ms = 1000.0 * times[len(times) // 2] / batch_size
    logger.info("Wav2Lip generator: %.1f ms/frame (batch %d, %d threads)", ms, batch_size, torch.get_num_threads())
    return Wav2LipBench(ms_per_frame=ms, batch_size=batch_size, threads=torch.get_num_threads(), batches=len(times))
