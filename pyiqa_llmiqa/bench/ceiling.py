"""The ceiling of scoring with K integer levels (the paper's Table 1).

A scorer that answers one integer in 1..K can at best put every image in the
level its human score (MOS) belongs to. Correlating those levels with the
continuous MOS gives the best (SRCC + PLCC) / 2 any K-level integer scorer can
reach; it needs only the MOS, no model.

Two ways to turn MOS into levels (``rule``), with ``lo, hi`` the smallest and
largest MOS:

* ``'equal_width'`` (default): K bins of equal width over ``[lo, hi]``,
  ``level = ceil(K (m - lo) / (hi - lo))``, at least 1. This reproduces the
  paper's 0.983 for SPAQ at K = 7 (0.9833 on SPAQ's 11,125 scores).
* ``'minmax_round'``: rescale to ``[1, K]`` and round,
  ``level = round(1 + (K - 1) (m - lo) / (hi - lo))``; ties go to the even
  integer (Python's and numpy's ``round``). 0.9777 for SPAQ at K = 7.

PLCC here is the plain Pearson correlation of the levels, no curve fitting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, Mapping, Sequence, Union

import numpy as np

from pyiqa_llmiqa.errors import ScoresError

__all__ = ['RULES', 'DEFAULT_LEVELS', 'quantize', 'ceiling', 'ceiling_table', 'ceiling_figure', 'plot_ceiling']

RULES = ('equal_width', 'minmax_round')
DEFAULT_LEVELS = (3, 5, 7, 9)


def _check_levels(levels) -> int:
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)):
        raise ScoresError(f'levels must be an integer K >= 2, got {levels!r}')
    if levels < 2:
        raise ScoresError(f'levels must be at least 2, got {levels}')
    return int(levels)


def _check_rule(rule: str) -> str:
    if rule not in RULES:
        raise ScoresError(f'rule must be one of {", ".join(RULES)}, got {rule!r}')
    return rule


def quantize(mos: Sequence[float], levels: int, rule: str = 'equal_width') -> np.ndarray:
    """Map each MOS onto an integer level in ``1..levels`` (see module doc).

    Returns an ``int64`` array. Raises ``ValueError`` for an empty input,
    NaN / infinite values, a K below 2, an unknown rule, or MOS that are all
    equal (there is no range to divide).
    """
    k = _check_levels(levels)
    _check_rule(rule)
    m = np.asarray(mos, dtype=float)
    if m.ndim != 1 or m.size == 0:
        raise ScoresError(f'mos must be a non-empty one-dimensional sequence, got shape {m.shape}')
    if not np.all(np.isfinite(m)):
        raise ScoresError('mos holds NaN or infinite values')
    lo, hi = float(m.min()), float(m.max())
    if not hi > lo:
        raise ScoresError(f'all MOS values are equal ({lo}); there is no range to quantize')
    if rule == 'equal_width':
        q = np.ceil(k * (m - lo) / (hi - lo))
    else:
        q = np.round(1 + (k - 1) * (m - lo) / (hi - lo))
    # Guard the ends against rounding error (and the level-0 minimum of ceil).
    return np.clip(q, 1, k).astype(np.int64)


def ceiling(mos: Sequence[float], levels: int, rule: str = 'equal_width') -> Dict[str, float]:
    """``dict(srcc=, plcc=, value=)`` of the K levels against the MOS itself.

    ``value`` is (SRCC + PLCC) / 2, the figure of the paper's Table 1. Needs at
    least 3 MOS values.
    """
    from pyiqa_llmiqa.bench.correlation import (  # scipy.stats: imported when a ceiling is computed
        check_pairs,
        plcc,
        srcc,
    )

    m, _ = check_pairs(mos, mos)
    q = quantize(m, levels, rule)
    s = srcc(q, m)
    p = plcc(q, m)
    return {'srcc': s, 'plcc': p, 'value': (s + p) / 2}


def ceiling_table(
    mos: Sequence[float], levels: Iterable[int] = DEFAULT_LEVELS, rule: str = 'equal_width'
) -> Dict[int, Dict[str, float]]:
    """``{K: ceiling(mos, K, rule)}`` for each K in ``levels``, in that order."""
    from pyiqa_llmiqa.bench.correlation import check_pairs

    m, _ = check_pairs(mos, mos)
    return {_check_levels(k): ceiling(m, k, rule) for k in levels}


TableLike = Mapping[str, Mapping[int, Union[float, Mapping[str, float]]]]


def ceiling_figure(table: TableLike, title: str = None):
    """The ceiling against K, one line per data set, as a matplotlib ``Figure`` (6 x 4 in, 120 dpi).

    ``table`` maps a data-set name to ``{K: value}``, where value is either a
    number or a ``ceiling()`` dict (its ``'value'`` is plotted) -- i.e.
    ``{name: ceiling_table(mos)}``. A bare ``Figure`` (no pyplot) needs no
    display and leaves pyplot's global backend alone.
    """
    from matplotlib.figure import Figure

    if not table:
        raise ScoresError('nothing to plot: the table is empty')
    fig = Figure(figsize=(6, 4), dpi=120)
    ax = fig.add_subplot(1, 1, 1)
    all_k = set()
    for name, row in table.items():
        ks = sorted(int(k) for k in row)
        if not ks:
            raise ScoresError(f'no levels for data set {name!r}')
        ys = []
        for k in ks:
            v = row[k]
            ys.append(float(v['value'] if isinstance(v, Mapping) else v))
        all_k.update(ks)
        ax.plot(ks, ys, marker='o', label=str(name))
    ax.set_xticks(sorted(all_k))
    ax.set_xlabel('K (number of integer levels)')
    ax.set_ylabel('ceiling, (SRCC + PLCC) / 2')
    ax.set_title(title or 'Best possible K-level integer scorer')
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_ceiling(table: TableLike, out_png: Union[str, Path], title: str = None) -> Path:
    """Save :func:`ceiling_figure` of ``table`` as the PNG ``out_png`` (720 x 480 pixels)."""
    out = Path(out_png)
    ceiling_figure(table, title).savefig(str(out))
    return out
