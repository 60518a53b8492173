"""Correlation between predicted quality scores and human scores (MOS).

The four figures IQA papers report:

* ``srcc`` -- Spearman rank correlation (``scipy.stats.spearmanr``);
* ``plcc`` -- Pearson linear correlation of the raw predictions, no fitting
  (``scipy.stats.pearsonr``);
* ``krcc`` -- Kendall rank correlation (``scipy.stats.kendalltau``);
* ``plcc_fitted`` -- Pearson correlation after mapping the predictions onto the
  MOS scale with the VQEG logistic curve, computed as pyiqa's own
  ``pyiqa.metrics.correlation_coefficient.calculate_plcc(x, y, fit_scale=...)``
  does (its ``fit_curve``, then ``scipy.stats.pearsonr``; 4-parameter curve by
  default, ``'logistic_5params'`` for the 5-parameter one), so the numbers match
  pyiqa's benchmark code. Where that fit fails (too few pairs, no convergence,
  or a curve that ends flat) the figure is NaN with one ``FitFailedWarning``.

pyiqa is imported only when the fitted PLCC is asked for: importing it loads
torch, which takes seconds.
"""

from __future__ import annotations

import math
import warnings
from typing import Dict, Sequence, Tuple

import numpy as np
from scipy import stats

from pyiqa_llmiqa.errors import ScoresError

__all__ = [
    'FIT_CURVES',
    'FitFailedWarning',
    'check_pairs',
    'srcc',
    'plcc',
    'krcc',
    'plcc_fitted',
    'correlations',
]

#: The curves pyiqa's ``fit_curve`` knows, with their number of parameters
#: (``curve_fit`` needs at least that many pairs).
FIT_CURVES = ('logistic_4params', 'logistic_5params')
_FIT_PARAMS = {'logistic_4params': 4, 'logistic_5params': 5}

MIN_PAIRS = 3


class FitFailedWarning(RuntimeWarning):
    """``plcc_fitted`` is NaN because the logistic curve could not be fitted; bench names it once, as ``no fit``."""


def check_pairs(pred, mos, lower_better: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Validate two score sequences and return them as float arrays.

    Raises ``ValueError`` when they are not one-dimensional, differ in length,
    hold fewer than 3 pairs, or hold NaN / infinite values. With
    ``lower_better`` the sign of ``pred`` is turned, so that a metric where a
    lower number means better quality correlates positively with MOS.
    """
    try:
        x = np.asarray(pred, dtype=float)
        y = np.asarray(mos, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ScoresError(f'scores must be numbers: {exc}') from None
    if x.ndim != 1 or y.ndim != 1:
        raise ScoresError(f'pred and mos must be one-dimensional, got shapes {x.shape} and {y.shape}')
    if x.shape[0] != y.shape[0]:
        raise ScoresError(f'pred and mos differ in length: {x.shape[0]} predictions, {y.shape[0]} MOS values')
    if x.shape[0] < MIN_PAIRS:
        raise ScoresError(f'need at least {MIN_PAIRS} (pred, mos) pairs to correlate, got {x.shape[0]}')
    for label, arr in (('pred', x), ('mos', y)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            shown = ', '.join(str(i) for i in bad[:5]) + (', ...' if bad.size > 5 else '')
            raise ScoresError(f'{label} holds {bad.size} NaN or infinite value(s), at index {shown}')
    if lower_better:
        x = -x
    return x, y


def _is_constant(a: np.ndarray) -> bool:
    return bool(np.all(a == a[0]))


def _corr(func, x: np.ndarray, y: np.ndarray) -> float:
    # A constant input has no defined correlation: return NaN quietly instead of
    # letting scipy emit a ConstantInputWarning for each of the figures.
    if _is_constant(x) or _is_constant(y):
        return math.nan
    return float(func(x, y)[0])


def srcc(pred, mos, lower_better: bool = False) -> float:
    """Spearman rank correlation (NaN when either side is constant)."""
    x, y = check_pairs(pred, mos, lower_better)
    return _corr(stats.spearmanr, x, y)


def plcc(pred, mos, lower_better: bool = False) -> float:
    """Pearson linear correlation of the raw predictions (no curve fitting)."""
    x, y = check_pairs(pred, mos, lower_better)
    return _corr(stats.pearsonr, x, y)


def krcc(pred, mos, lower_better: bool = False) -> float:
    """Kendall rank correlation (scipy's default tau-b)."""
    x, y = check_pairs(pred, mos, lower_better)
    return _corr(stats.kendalltau, x, y)


def plcc_fitted(pred, mos, lower_better: bool = False, fit: str = 'logistic_4params') -> float:
    """PLCC after pyiqa's logistic mapping of ``pred`` onto the MOS scale.

    pyiqa's ``fit_curve(x, y, fit)``, then ``pearsonr`` of the fitted curve with the MOS (what
    ``calculate_plcc(x, y, fit_scale=fit)`` computes). NaN when either side is constant; NaN with a
    ``FitFailedWarning`` when there are fewer pairs than the curve has parameters (4 or 5), the fit
    does not converge, or the fitted curve is flat (a correlation with a constant says nothing).
    """
    if fit not in FIT_CURVES:
        raise ScoresError(f'fit must be one of {", ".join(FIT_CURVES)}, got {fit!r}')
    x, y = check_pairs(pred, mos, lower_better)
    if _is_constant(x) or _is_constant(y):
        return math.nan
    if x.shape[0] < _FIT_PARAMS[fit]:
        return _no_fit(f'{fit} needs at least {_FIT_PARAMS[fit]} pairs to fit, got {x.shape[0]}')
    from pyiqa.metrics.correlation_coefficient import fit_curve
    from scipy.optimize import OptimizeWarning

    try:
        # the curve's exp overflows on wide score scales, and the parameters' covariance (which
        # OptimizeWarning is about) is not used: neither says anything about the figure
        with np.errstate(all='ignore'), warnings.catch_warnings():
            warnings.simplefilter('ignore', OptimizeWarning)
            fitted = fit_curve(x, y, fit)
    except RuntimeError as exc:  # curve_fit ran out of iterations
        return _no_fit(f'{fit} fit did not converge ({exc})')
    with warnings.catch_warnings():
        # scipy's own test of a (nearly) constant input, here the fitted curve: the MOS is not constant
        warnings.simplefilter('error', stats.ConstantInputWarning)
        warnings.simplefilter('error', stats.NearConstantInputWarning)
        try:
            return float(stats.pearsonr(fitted, y)[0])
        except (stats.ConstantInputWarning, stats.NearConstantInputWarning):
            return _no_fit(f'the fitted {fit} curve is flat ({np.ptp(fitted):.3g} from lowest to highest)')


def _no_fit(why: str) -> float:
    warnings.warn(f'{why}; plcc_fitted is NaN', FitFailedWarning, stacklevel=3)
    return math.nan


def correlations(
    pred: Sequence[float], mos: Sequence[float], lower_better: bool = False, fit: str = 'logistic_4params'
) -> Dict[str, float]:
    """All four figures at once: ``dict(srcc=, plcc=, krcc=, plcc_fitted=)``.

    ``lower_better=True`` turns the sign of ``pred`` first (for metrics where a
    lower number is better quality). ``fit`` picks pyiqa's logistic curve for
    ``plcc_fitted``: ``'logistic_4params'`` (default) or ``'logistic_5params'``.
    Raises ``ValueError`` for fewer than 3 pairs, NaN / infinite values, or a
    length mismatch.
    """
    x, y = check_pairs(pred, mos, lower_better)
    return {
        'srcc': _corr(stats.spearmanr, x, y),
        'plcc': _corr(stats.pearsonr, x, y),
        'krcc': _corr(stats.kendalltau, x, y),
        'plcc_fitted': plcc_fitted(x, y, fit=fit),
    }
