"""What `bench` and `report` leave in the output folder, read back from the files and the figures:
the rows evaluate builds from stored records, the CSVs whatever the locale, the scatter plots and the
ceiling plot. Every expected figure is worked out by hand in a comment beside it."""

import csv
import math
import warnings

import numpy as np
import pytest
from PIL import Image

from pyiqa_llmiqa.bench import report
from pyiqa_llmiqa.bench.datasets import BenchDataset, Item
from pyiqa_llmiqa.bench.manifest import RunMetric
from pyiqa_llmiqa.bench.report import CEILING_TITLE, Row, evaluate, scatter, write_long_csv, write_pyiqa_csv

MOS6 = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
# ranks 3 1 2 6 4 5 against 1..6: d = (2, -1, -1, 2, -1, -1), sum d^2 = 12, SRCC = 1 - 6 * 12 / (6 * 35) = 23/35;
# centred scores (-.5, -2.5, -1.5, 2.5, .5, 1.5) and MOS (-2.5, -1.5, -.5, .5, 1.5, 2.5): PLCC = 11.5 / 17.5 = 23/35;
# 4 of the 15 pairs discordant ((3,1), (3,2), (6,4), (6,5)): KRCC = (11 - 4) / 15 = 7/15.
CONVERGING = [3.0, 1.0, 2.0, 6.0, 4.0, 5.0]  # pyiqa's logistic fit converges on these
NOT_CONVERGING = [1.1, 2.3, 2.9, 4.2, 5.5, 5.9]  # ... and runs out of iterations on these


def metric(name='m', lower_better=False, datasets=('toy',)):
    return RunMetric(name, lower_better, False, None, {d: f'key-{d}' for d in datasets})


def dataset(mos, name='toy', lower_better=False):
    return BenchDataset(name, [Item(f'{i}.png', f'/nowhere/{i}.png', m) for i, m in enumerate(mos)], {}, lower_better)


def store(out, run_metric, data, scores):
    """Records as a run leaves them: a score, or an error (a string), or none (None) per image."""
    results = run_metric.store(out, data)
    with results.appender(0) as append:
        for item, score in zip(data.items, scores):
            if score is not None:
                outcome = {'error': score} if isinstance(score, str) else {'score': score}
                append({'image': item.name, 'mos': item.mos, **outcome})
    results.merge([item.name for item in data.items])


def evaluated(tmp_path, mos, scores, lower_better=False):
    run_metric, data = metric(lower_better=lower_better), dataset(mos)
    store(tmp_path, run_metric, data, scores)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        row = evaluate(run_metric, data, tmp_path)
    return row, caught


def test_a_converging_fit_gives_every_figure(tmp_path):
    row, caught = evaluated(tmp_path, MOS6, CONVERGING)
    assert caught == []
    assert row.fit_failed is False and row.missing_why == '' and row.note == ''
    assert row.figures['srcc'] == pytest.approx(23 / 35)
    assert row.figures['plcc'] == pytest.approx(23 / 35)
    assert row.figures['krcc'] == pytest.approx(7 / 15)
    assert -1 <= row.figures['plcc_fitted'] <= 1


def test_a_fit_that_does_not_converge_is_noted_in_the_row_not_warned(tmp_path):
    # lower-better scores 1.1 .. 5.9 rise with MOS: negated, they fall in step with it, every rank reversed
    row, caught = evaluated(tmp_path, MOS6, NOT_CONVERGING, lower_better=True)
    assert [str(w.message) for w in caught] == []
    assert row.fit_failed is True and row.missing_why == ''
    assert math.isnan(row.figures['plcc_fitted'])
    assert (row.figures['srcc'], row.figures['krcc']) == (pytest.approx(-1.0), pytest.approx(-1.0))
    assert row.note == report.FIT_FAILED
    assert report.FIT_FAILED == (
        'the logistic fit failed (did not converge, ended flat, or had fewer than 4 images): no fitted PLCC'
    )


def test_three_pairs_too_few_to_fit_are_noted_not_warned(tmp_path):
    row, caught = evaluated(tmp_path, [1.0, 2.0, 3.0], [1.0, 3.0, 2.0])
    assert caught == [] and row.fit_failed is True
    assert row.figures['srcc'] == pytest.approx(0.5)  # d = (0, 1, -1): 1 - 6 * 2 / (3 * 8)


def test_any_other_warning_reaches_the_caller_as_it_was_given(tmp_path, monkeypatch):
    class OddInput(UserWarning):
        pass

    def correlations(scores, mos, lower_better):
        warnings.warn_explicit('odd input', OddInput, 'somewhere.py', 42)
        return dict.fromkeys(report.FIGURES, 0.5)

    monkeypatch.setattr(report, 'correlations', correlations)
    row, caught = evaluated(tmp_path, MOS6, CONVERGING)
    assert [(str(w.message), w.category, w.filename, w.lineno) for w in caught] == [
        ('odd input', OddInput, 'somewhere.py', 42)
    ]
    assert row.fit_failed is False and row.figures == dict.fromkeys(report.FIGURES, 0.5)


@pytest.mark.parametrize(
    'scores, why, note',
    [
        ([2.0, 2.0, 2.0, 2.0], 'const.', 'constant predictions: no correlation is defined'),
        ([1.0, 'ImageLoadError: x', None, 2.0], 'n<3', 'fewer than 3 scored images'),
    ],
)
def test_rows_without_figures_say_why_and_tried_no_fit(tmp_path, scores, why, note):
    row, caught = evaluated(tmp_path, [1.0, 2.0, 3.0, 4.0], scores)
    assert caught == []
    assert (row.missing_why, row.note, row.fit_failed) == (why, note, False)
    assert all(math.isnan(row.figures[f]) for f in report.FIGURES)
    assert report.markdown([row]).splitlines()[2].endswith(f'| {why} | {why} | {why} | {why} |')


def test_two_distinct_scores_are_not_constant(tmp_path):
    row, _ = evaluated(tmp_path, [1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 2.0, 2.0])
    assert row.missing_why == ''
    # ranks (1.5, 1.5, 3.5, 3.5) against 1..4: cov 4 / sqrt(4 * 5)
    assert row.figures['srcc'] == pytest.approx(4 / math.sqrt(20))


def test_the_csvs_are_utf8_whatever_the_locale(tmp_path, ascii_locale):
    figures = {'srcc': 0.5, 'plcc': 0.25, 'krcc': 0.125, 'plcc_fitted': 1.0}
    rows = [Row('méta', 'Ünïcode', 'k', [1.0], [2.0], 0, 0, False, figures)]
    write_pyiqa_csv(rows, tmp_path / 'b.csv')
    write_long_csv(rows, tmp_path / 'l.csv')
    assert (tmp_path / 'b.csv').read_bytes().decode('utf-8') == (
        'Metric name,Ünïcode(PLCC/SRCC/KRCC)\r\nméta,0.25/0.5/0.125\r\n'
    )
    assert (tmp_path / 'l.csv').read_bytes().decode('utf-8').splitlines()[1] == (
        'méta,Ünïcode,k,1,0,0,0.5,0.25,0.125,1.0,'
    )


@pytest.fixture
def saved_figures(monkeypatch):
    """Every matplotlib figure saved, by the path it was saved to."""
    from matplotlib.figure import Figure

    saved = {}
    original = Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        saved[str(fname)] = self
        return original(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, 'savefig', savefig)
    return saved


def row_of(sign_turned=False, **extra):
    values = dict(
        metric='m1',
        dataset='toy',
        key='k',
        mos=[1.0, 2.0, 3.0, 4.0],
        scores=[0.5, 0.25, 0.75, 1.0],
        failed=0,
        missing=0,
        sign_turned=sign_turned,
        figures={'srcc': 0.8, 'plcc': 0.123456, 'krcc': 2 / 3, 'plcc_fitted': 0.9},
    )
    values.update(extra)
    return Row(**values)


@pytest.mark.parametrize(
    'row, title',
    [
        (row_of(), 'm1 on toy (n=4)\nSRCC 0.800  PLCC 0.123  KRCC 0.667'),
        (row_of(sign_turned=True), 'm1 on toy (n=4)\nSRCC 0.800  PLCC 0.123  KRCC 0.667 of the negated score'),
        (row_of(missing_why='const.'), 'm1 on toy (n=4)\nSRCC const.  PLCC const.  KRCC const.'),
    ],
)
def test_a_scatter_plot_shows_each_image_at_mos_and_score(tmp_path, saved_figures, row, title):
    path = tmp_path / 'scatter.png'
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # matplotlib warns of nothing it had to guess or override
        scatter(row, path)
    with Image.open(path) as image:
        assert (image.format, image.size) == ('PNG', (600, 480))  # 5 x 4 inches at 120 dpi
    (ax,) = saved_figures[str(path)].axes
    assert ax.get_position().width > 0.7 and ax.get_position().height > 0.7  # one plot fills the figure
    (points,) = ax.collections
    assert points.get_offsets().tolist() == [[1.0, 0.5], [2.0, 0.25], [3.0, 0.75], [4.0, 1.0]]
    # small, half-transparent points: a data set of thousands of images stays readable
    assert (points.get_sizes().tolist(), points.get_alpha()) == ([6.0], 0.5)
    assert ax.get_title() == title
    assert (ax.get_xlabel(), ax.get_ylabel()) == ('MOS', 'm1 score')
    for line in ax.xaxis.get_gridlines() + ax.yaxis.get_gridlines():
        assert line.get_visible() and line.get_alpha() == 0.3


def ceiling_by_hand(mos, k):
    """(SRCC + PLCC) / 2 of equal-width levels ceil(K (m - min) / (max - min)), at least 1, against the MOS."""
    from scipy import stats

    m = np.asarray(mos)
    levels = np.maximum(1, np.ceil(k * (m - m.min()) / (m.max() - m.min())))
    return (stats.spearmanr(levels, m)[0] + stats.pearsonr(levels, m)[0]) / 2


def test_write_report_leaves_the_tables_the_plots_and_returns_the_rows(tmp_path, saved_figures):
    flat = dataset([3.0, 3.0, 3.0], name='flat')  # all MOS equal: no ceiling for it
    toy = dataset(MOS6, name='toy')
    m1 = metric('m1', datasets=('flat', 'toy'))
    m2 = metric('m2', lower_better=True, datasets=('flat', 'toy'))
    store(tmp_path, m1, toy, CONVERGING)
    store(tmp_path, m2, toy, [-s for s in CONVERGING])  # lower-better: the same figures once turned
    store(tmp_path, m2, flat, [1.0, None, 'ImageLoadError: x'])  # m1 has no record on flat at all
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        rows = report.write_report([m1, m2], [flat, toy], str(tmp_path))
    assert [str(w.message) for w in caught] == []
    assert [(r.metric, r.dataset, len(r.scores), r.failed, r.missing) for r in rows] == [
        ('m1', 'flat', 0, 0, 3),
        ('m1', 'toy', 6, 0, 0),
        ('m2', 'flat', 1, 1, 1),
        ('m2', 'toy', 6, 0, 0),
    ]
    with open(tmp_path / 'benchmark_results.csv', newline='', encoding='utf-8') as handle:
        assert list(csv.reader(handle)) == [
            ['Metric name', 'flat(PLCC/SRCC/KRCC)', 'toy(PLCC/SRCC/KRCC)'],
            ['m1', 'nan/nan/nan', '0.6571/0.6571/0.4667'],  # 23/35, 23/35, 7/15 rounded
            ['m2', 'nan/nan/nan', '0.6571/0.6571/0.4667'],
        ]
    with open(tmp_path / 'correlations.csv', newline='', encoding='utf-8') as handle:
        lines = {(r['metric'], r['dataset']): r for r in csv.DictReader(handle)}
    assert list(lines) == [('m1', 'flat'), ('m1', 'toy'), ('m2', 'flat'), ('m2', 'toy')]
    assert lines[('m2', 'flat')]['note'] == 'fewer than 3 scored images'
    assert (lines[('m2', 'toy')]['n'], lines[('m2', 'toy')]['key']) == ('6', 'key-toy')
    assert float(lines[('m2', 'toy')]['krcc']) == pytest.approx(7 / 15)
    # a scatter plot for every row with a score, named after its metric and data set
    plots = sorted(p.name for p in tmp_path.glob('*.png'))
    assert plots == ['ceiling.png', 'scatter_m1_toy.png', 'scatter_m2_flat.png', 'scatter_m2_toy.png']
    (points,) = saved_figures[str(tmp_path / 'scatter_m2_toy.png')].axes[0].collections
    assert points.get_offsets().tolist() == [[m, -s] for m, s in zip(MOS6, CONVERGING)]
    # the ceiling: one line, for the data set whose MOS have a range, over K = 3, 5, 7, 9
    (ax,) = saved_figures[str(tmp_path / 'ceiling.png')].axes
    assert ax.get_title() == CEILING_TITLE
    (line,) = ax.get_lines()
    assert line.get_label() == 'toy'
    assert line.get_xdata().tolist() == [3, 5, 7, 9]
    assert line.get_ydata() == pytest.approx([ceiling_by_hand(MOS6, k) for k in (3, 5, 7, 9)])


def test_write_report_draws_no_ceiling_when_no_data_set_has_a_mos_range(tmp_path):
    flat = dataset([3.0, 3.0, 3.0], name='flat')
    m1 = metric('m1', datasets=('flat',))
    store(tmp_path, m1, flat, [1.0, 2.0, 3.0])
    (row,) = report.write_report([m1], [flat], tmp_path)
    assert row.missing_why == ''  # scores are fine; only the MOS has no range to quantize
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        'benchmark_results.csv',
        'correlations.csv',
        'scatter_m1_flat.png',
    ]
