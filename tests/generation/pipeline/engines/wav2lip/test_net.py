from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from generation.pipeline.engines.wav2lip.net import Wav2LipGenerator, checkpoint_state_dict, strip_module_prefix

# A copy of shared/facts/wav2lip_checkpoint_layout.json: every key and shape of the official generator.
LAYOUT = Path(__file__).parent / "wav2lip_checkpoint_layout.json"


def _layout() -> list[tuple[str, list[int], str]]:
    entries = json.loads(LAYOUT.read_text())["entries"]
    return [(e["key"], e["shape"], e["dtype"]) for e in entries]


def test_state_dict_matches_official_layout_exactly():
    layout = _layout()
    state = checkpoint_state_dict(Wav2LipGenerator())
    mine = [(k, list(v.shape), str(v.dtype).replace("torch.", "")) for k, v in state.items()]
    assert mine == layout
    assert len(mine) == 352
    assert sum(math.prod(s) for _, s, _ in mine) == 36_320_837


def test_forward_shapes_and_range():
    model = Wav2LipGenerator().eval()
    with torch.inference_mode():
        out = model(torch.randn(3, 1, 80, 16), torch.rand(3, 6, 96, 96))
    assert out.shape == (3, 3, 96, 96)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_round_trip_strict_load():
    a, b = Wav2LipGenerator(), Wav2LipGenerator()
    b.load_state_dict(strip_module_prefix(checkpoint_state_dict(a)), strict=True)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_bench_reports_a_time():
    from generation.bench.neural import wav2lip_ms_per_frame

    result = wav2lip_ms_per_frame(batch_size=2, batches=1)
    assert result.ms_per_frame > 0 and result.batch_size == 2 and result.batches == 1
