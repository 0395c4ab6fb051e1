"""The relevance gap read at the calibration index's size."""

import math

from rag.answers.relevance import background_gap
from rag.tuning import TUNING


def test_a_background_risen_as_a_larger_index_raises_it_gives_the_calibrated_gap():
    ref = TUNING.gap_reference_chunks
    ranked = [0.85 - 0.001 * i for i in range(60)]
    calibrated = background_gap(0.86, ranked, ref)
    for grown in (ref * 5, ref * 50):
        risen = [s + TUNING.gap_per_log_size * math.log(grown / ref) for s in ranked]
        assert abs(background_gap(0.86, risen, grown) - calibrated) < 1e-9
        assert background_gap(0.86, risen, ref) < calibrated  # read without the size, it would shrink


def test_a_smaller_index_is_judged_as_calibrated_and_a_tiny_one_has_no_background():
    ranked = [0.8] * 60
    assert background_gap(0.85, ranked, 200) == background_gap(0.85, ranked, TUNING.gap_reference_chunks)
    assert background_gap(0.85, ranked[:30], 30) is None
