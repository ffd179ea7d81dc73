"""The closure model's fitting tool (generation/bench/closure_fit.py)."""

from __future__ import annotations

import numpy as np

from generation.bench.closure_fit import _truth, fit_logistic
from generation.pipeline.speech.units import PAUSE, TimedUnit


def test_the_fit_labels_dips_by_the_synthesisers_own_phones():
    ref = [TimedUnit("a", 0.0, 0.2), TimedUnit("m", 0.2, 0.28), TimedUnit("a", 0.28, 0.5), TimedUnit("t", 0.5, 0.58),
           TimedUnit("a", 0.58, 0.8), TimedUnit(PAUSE, 0.8, 1.0)]
    assert [_truth(ref, 0.21, 0.27), _truth(ref, 0.51, 0.6), _truth(ref, 0.82, 0.9)] == [1, 0, -1]
    # A bilabial sharing the dip with a tongue consonant wins: the lips do close there.
    assert _truth(ref, 0.2, 0.3) == 1
    x = np.array([[0.0, 1.0], [0.2, 0.9], [1.0, 0.1], [0.9, 0.0]])
    weights, bias = fit_logistic(x, np.array([1, 1, 0, 0]))
    assert weights[0] < 0 < weights[1]
