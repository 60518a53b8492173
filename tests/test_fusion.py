"""Fusion by the README's formulas, with expected values worked out by hand.

s_local = sum(a_i s_i) / sum(a_i); s = w s_global + (1 - w) s_local; with the count term
s_seg = min(c, c_max) K / c_max and s = (1 - v) s + v s_seg.
"""

import pytest

from pyiqa_llmiqa.scoring.fusion import count_score, fuse, local_score


def test_local_score_is_the_area_weighted_mean():
    # (1 * 2 + 3 * 6) / (1 + 3) = 20 / 4 = 5
    assert local_score([2.0, 6.0], [1, 3]) == 5.0


def test_no_regions_or_no_area_is_no_local_score():
    assert local_score([], []) is None
    assert local_score([4.0], [0]) is None
    assert local_score([], [5]) is None  # areas without scores: still nothing to average


def test_fuse_defaults_are_the_papers_halves():
    # w = 0.5: (6 + 2) / 2 = 4; the count term is off by default
    assert fuse(6.0, [2.0], [10]) == (4.0, 2.0)


def test_fuse_without_regions_is_the_global_score():
    assert fuse(5.0, [], []) == (5.0, None)
    assert fuse(5.0, [3.0], [0]) == (5.0, None)


def test_fuse_weights_the_global_score_by_global_weight():
    # 0.25 * 8 + 0.75 * (1 * 2 + 1 * 4) / 2 = 2 + 2.25 = 4.25
    final, local = fuse(8.0, [2.0, 4.0], [1, 1], global_weight=0.25)
    assert local == 3.0
    assert final == pytest.approx(4.25)


def test_count_score_by_hand():
    assert count_score(3, 6, 7) == pytest.approx(3.5)  # 3 * 7 / 6
    assert count_score(9, 6, 7) == pytest.approx(7.0)  # clipped at c_max: 6 * 7 / 6
    assert count_score(0, 4, 5) == 0.0


def test_count_term_default_weight_is_a_third_and_uses_the_default_levels():
    # s = 0.5 * 6 + 0.5 * 3 = 4.5; s_seg = 2 * 7 / 4 = 3.5 (K = 7 by default);
    # with v = 1/3: 2/3 * 4.5 + 1/3 * 3.5 = 3 + 7/6
    final, local = fuse(6.0, [3.0], [1], n_masks=2, mask_count_max=4)
    assert local == 3.0
    assert final == pytest.approx(3 + 7 / 6)


def test_count_term_with_its_own_weight_and_levels():
    # s = 5 (no regions); s_seg = min(10, 5) * 9 / 5 = 9; 0.75 * 5 + 0.25 * 9 = 6
    final, local = fuse(5.0, [], [], n_masks=10, levels=9, mask_count_max=5, mask_count_weight=0.25)
    assert local is None
    assert final == pytest.approx(6.0)


def test_count_term_without_a_mask_count_is_zero_masks():
    # n_masks defaults to 0: s_seg = 0, s = 2/3 * 6 = 4
    final, _ = fuse(6.0, [], [], mask_count_max=3)
    assert final == pytest.approx(4.0)
