"""The paper-layout benchmark table (``table.md`` / ``table.tex``) from rows written by hand: the cells,
the bold best of each column (ties included), the cells that say why a figure is missing, the K-level
ceiling row (computed here from its formula), the caption's image counts and notes, and LaTeX escaping."""

import math
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

from pyiqa_llmiqa.bench.correlation import FitFailedWarning
from pyiqa_llmiqa.bench.datasets import BenchDataset, Item
from pyiqa_llmiqa.bench.report import Row
from pyiqa_llmiqa.bench.tables import latex_escape, paper_table, table_figures, to_latex, to_markdown

NAN = math.nan
MOS = [0.0, 1.0, 2.0, 3.0, 4.0]


def dataset(name, mos):
    return BenchDataset(name, [Item(f'{i}.png', Path(f'{i}.png'), m) for i, m in enumerate(mos)])


LIVE = dataset('live_c', MOS)  # an underscore: escaped in LaTeX
FLAT = dataset('d2', [3.0] * 1234)  # all-equal MOS: no ceiling; 1,234 images in the caption


def row(metric, name, srcc=NAN, plcc=NAN, krcc=NAN, fitted=NAN, failed=0, **extra):
    figures = dict(srcc=srcc, plcc=plcc, krcc=krcc, plcc_fitted=fitted)
    return Row(metric, name, f'{metric}-key', [1.0, 2.0, 3.0], [0.1, 0.2, 0.3], failed, 0, False, figures, **extra)


ROWS = [
    row('m_1', 'live_c', 0.9004, 0.5, -0.7, 0.85, failed=2),
    # A cell that says why it has no number is never a number, whatever the row's figures hold.
    row('m2', 'live_c', 0.8996, -0.25, 0.75, 0.99, failed=1, fit_failed=True),
    row('m3', 'live_c', 0.99, 0.99, 0.99, 0.99, missing_why='const.'),
    row('m_1', 'd2', missing_why='n<3'),
    row('m2', 'd2', missing_why='const.'),
    row('m3', 'd2', missing_why='n<3'),
]


def ceiling_figures(mos, k):
    """SRCC, PLCC, KRCC and fitted PLCC of level = ceil(K (m - min) / (max - min)) (at least 1) against the MOS.

    With 2 or 3 distinct levels the 4-parameter logistic can pass through the mean MOS of each level, which
    is the least-squares fit, so the fitted PLCC is the Pearson correlation of those means with the MOS."""
    m = np.asarray(mos, dtype=float)
    levels = np.maximum(np.ceil(k * (m - m.min()) / (m.max() - m.min())), 1)
    means = np.array([m[levels == v].mean() for v in levels])
    return dict(
        srcc=stats.spearmanr(levels, m)[0],
        plcc=stats.pearsonr(levels, m)[0],
        krcc=stats.kendalltau(levels, m)[0],
        plcc_fitted=stats.pearsonr(means, m)[0],
    )


def shown(value):
    return f'{value:.3f}'


CAPTION_TAIL = (
    'against MOS, best of each column in bold. Last row: the best any K-level integer scorer can reach '
    '(MOS in K equal-width bins). Images: live_c 5, d2 1,234. '
    'Failed images, left out of the figures: m_1 2 on live_c, m2 1 on live_c. '
    'const.: constant predictions: no correlation is defined. n<3: fewer than 3 scored images.'
)


def test_table_figures_srcc_and_plcc_by_default_fitted_and_krcc_on_request():
    assert table_figures() == ['srcc', 'plcc']
    assert table_figures(krcc_too=True) == ['srcc', 'plcc', 'krcc']
    assert table_figures(fitted_plcc=True) == ['srcc', 'plcc_fitted']
    assert table_figures(True, True) == ['srcc', 'plcc_fitted', 'krcc']


def test_hand_computed_ceiling_of_the_five_mos():
    # levels by hand: K = 2 -> [1, 1, 1, 2, 2]; K = 3 -> [1, 1, 2, 3, 3]
    assert ceiling_figures(MOS, 2)['plcc'] == np.corrcoef([1, 1, 1, 2, 2], MOS)[0, 1]
    assert math.isclose(ceiling_figures(MOS, 2)['plcc_fitted'], math.sqrt(3) / 2)  # means 1, 1, 1, 3.5, 3.5
    assert math.isclose(ceiling_figures(MOS, 3)['plcc_fitted'], np.corrcoef([0.5, 0.5, 2, 3.5, 3.5], MOS)[0, 1])


def test_cells_best_values_and_ceiling_of_the_default_table():
    table = paper_table(ROWS, [LIVE, FLAT], [2, 3])  # 3 digits by default
    assert table.figures == ['srcc', 'plcc']
    assert list(table.rows) == ['m_1', 'm2', 'm3']
    texts = {m: [c.text for c in cells] for m, cells in table.rows.items()}
    assert texts == {
        'm_1': ['0.900', '0.500', 'n<3', 'n<3'],
        'm2': ['0.900', '-0.250', 'const.', 'const.'],
        'm3': ['const.', 'const.', 'n<3', 'n<3'],
    }
    # 0.9004 and 0.8996 both show 0.900: both bold; 0.5 beats -0.25 (equal once rounded to integers)
    best = {m: [c.best for c in cells] for m, cells in table.rows.items()}
    assert best == {'m_1': [True, True, False, False], 'm2': [True, False, False, False], 'm3': [False] * 4}
    values = [c.value for c in table.rows['m_1']]
    assert values[:2] == [0.9004, 0.5] and all(math.isnan(v) for v in values[2:])
    assert [c.value for c in table.rows['m2']][:2] == [0.8996, -0.25]
    assert all(math.isnan(c.value) for c in table.rows['m3'])
    assert list(table.ceilings) == [2, 3]
    for k in (2, 3):
        expected = ceiling_figures(MOS, k)
        cells = table.ceilings[k]
        assert [c.text for c in cells] == [shown(expected['srcc']), shown(expected['plcc']), '--', '--']
        assert math.isclose(cells[0].value, expected['srcc']) and math.isclose(cells[1].value, expected['plcc'])
        assert all(math.isnan(c.value) for c in cells[2:])
        assert not any(c.best for c in cells)
    assert table.caption.startswith('SRCC and PLCC against MOS')
    assert table.caption.endswith('Images: live_c 5, d2 1,234.')


def test_markdown_of_the_default_table():
    c2, c3 = ceiling_figures(MOS, 2), ceiling_figures(MOS, 3)
    expected = '\n'.join(
        [
            '| Metric | live_c SRCC | live_c PLCC | d2 SRCC | d2 PLCC |',
            '|---|---:|---:|---:|---:|',
            '| m_1 | **0.900** | **0.500** | n<3 | n<3 |',
            '| m2 | **0.900** | -0.250 | const. | const. |',
            '| m3 | const. | const. | n<3 | n<3 |',
            f'| *Ceiling, K = 2* | *{shown(c2["srcc"])}* | *{shown(c2["plcc"])}* | *--* | *--* |',
            f'| *Ceiling, K = 3* | *{shown(c3["srcc"])}* | *{shown(c3["plcc"])}* | *--* | *--* |',
            '',
            'SRCC and PLCC ' + CAPTION_TAIL,
            '',
        ]
    )
    assert to_markdown(paper_table(ROWS, [LIVE, FLAT], [2, 3])) == expected


def test_latex_of_the_default_table_minus_signs_and_escapes():
    c2 = ceiling_figures(MOS, 2)
    caption = ('SRCC and PLCC ' + CAPTION_TAIL).replace('_', r'\_').replace('<', r'\textless{}')
    expected = '\n'.join(
        [
            r'\begin{table}[t]',
            r'\centering',
            rf'\caption{{{caption}}}',
            r'\label{tab:bench}',
            r'\begin{tabular}{l cc cc}',
            r'\toprule',
            r' & \multicolumn{2}{c}{live\_c} & \multicolumn{2}{c}{d2} \\',
            r'\cmidrule(lr){2-3} \cmidrule(lr){4-5}',
            r'Metric & SRCC & PLCC & SRCC & PLCC \\',
            r'\midrule',
            r'm\_1 & \textbf{0.900} & \textbf{0.500} & n\textless{}3 & n\textless{}3 \\',
            r'm2 & \textbf{0.900} & $-$0.250 & const. & const. \\',
            r'm3 & const. & const. & n\textless{}3 & n\textless{}3 \\',
            r'\midrule',
            rf'\textit{{Ceiling}} ($K = 2$) & {shown(c2["srcc"])} & {shown(c2["plcc"])} & -- & -- \\',
            r'\bottomrule',
            r'\end{tabular}',
            r'\end{table}',
            '',
        ]
    )
    assert to_latex(paper_table(ROWS, [LIVE, FLAT], [2])) == expected


def test_krcc_and_fitted_plcc_columns_with_no_fit_cell_and_fit_note():
    table = paper_table(ROWS, [LIVE, FLAT], [3], krcc_too=True, fitted_plcc=True)
    c3 = ceiling_figures(MOS, 3)
    fit = (
        'No fit: the 4-parameter logistic fit of pyiqa failed (did not converge, ended flat, or had fewer '
        'than 4 images) for m2 on live_c; fitted PLCC left out.'
    )
    ceiling = [shown(c3['srcc']), shown(c3['plcc_fitted']), shown(c3['krcc'])]
    assert '\n'.join(to_markdown(table).splitlines()[:6] + ['']) == '\n'.join(
        [
            '| Metric | live_c SRCC | live_c PLCC (fit) | live_c KRCC | d2 SRCC | d2 PLCC (fit) | d2 KRCC |',
            '|---|---:|---:|---:|---:|---:|---:|',
            '| m_1 | **0.900** | **0.850** | -0.700 | n<3 | n<3 | n<3 |',
            '| m2 | **0.900** | no fit | **0.750** | const. | const. | const. |',
            '| m3 | const. | const. | const. | n<3 | n<3 | n<3 |',
            '| *Ceiling, K = 3* | ' + ' | '.join(f'*{t}*' for t in ceiling) + ' | *--* | *--* | *--* |',
            '',
        ]
    )
    assert math.isnan(table.rows['m2'][1].value)  # 'no fit' is no number, whatever plcc_fitted holds
    assert to_markdown(table).endswith('\n\nSRCC and PLCC (fit) and KRCC ' + CAPTION_TAIL + ' ' + fit + '\n')
    latex = to_latex(table, label='tab:x').splitlines()
    assert latex[3:9] == [
        r'\label{tab:x}',
        r'\begin{tabular}{l ccc ccc}',
        r'\toprule',
        r' & \multicolumn{3}{c}{live\_c} & \multicolumn{3}{c}{d2} \\',
        r'\cmidrule(lr){2-4} \cmidrule(lr){5-7}',
        r'Metric & SRCC & PLCC (fit) & KRCC & SRCC & PLCC (fit) & KRCC \\',
    ]
    assert latex[10:12] == [
        r'm\_1 & \textbf{0.900} & \textbf{0.850} & $-$0.700 & n\textless{}3 & n\textless{}3 & n\textless{}3 \\',
        r'm2 & \textbf{0.900} & no fit & \textbf{0.750} & const. & const. & const. \\',
    ]
    assert latex[14] == r'\textit{Ceiling} ($K = 3$) & ' + ' & '.join(ceiling) + r' & -- & -- & -- \\'


def test_fit_note_only_with_fitted_plcc_and_only_when_a_fit_failed():
    assert 'No fit' not in to_markdown(paper_table(ROWS, [LIVE, FLAT], [], krcc_too=True))
    fitted = [row('m', 'live_c', 0.5, 0.5, 0.5, 0.5)]
    table = paper_table(fitted, [LIVE], [], fitted_plcc=True)
    assert table.notes == []
    assert to_markdown(table) == '\n'.join(
        [
            '| Metric | live_c SRCC | live_c PLCC (fit) |',
            '|---|---:|---:|',
            '| m | **0.500** | **0.500** |',
            '',
            'SRCC and PLCC (fit) against MOS, best of each column in bold. Last row: the best any K-level '
            'integer scorer can reach (MOS in K equal-width bins). Images: live_c 5.',
            '',
        ]
    )


def test_digits_round_cells_and_decide_ties():
    rows = [row('a', 'live_c', 0.91234, 0.4), row('b', 'live_c', 0.91226, 0.41)]
    table = paper_table(rows, [LIVE], [], digits=4)
    assert [[c.text for c in cells] for cells in table.rows.values()] == [['0.9123', '0.4000'], ['0.9123', '0.4100']]
    assert [[c.best for c in cells] for cells in table.rows.values()] == [[True, False], [True, True]]
    table = paper_table(rows, [LIVE], [], digits=5)
    assert [[c.best for c in cells] for cells in table.rows.values()] == [[True, False], [False, True]]


def test_no_rows_and_no_ceiling_rows():
    table = paper_table([], [LIVE], [2])
    assert table.rows == {}
    assert [c.text for c in table.ceilings[2]] == [shown(ceiling_figures(MOS, 2)[f]) for f in ('srcc', 'plcc')]
    latex = to_latex(paper_table(ROWS[:3], [LIVE], [])).splitlines()
    assert latex.count(r'\midrule') == 1  # no rule before an absent ceiling row
    assert latex[-4:] == [r'm3 & const. & const. \\', r'\bottomrule', r'\end{tabular}', r'\end{table}']


def test_latex_escape_of_every_special_character():
    assert latex_escape('a_b 50% R&D #1 $x {y} ~ ^ <> \\') == (
        r'a\_b 50\% R\&D \#1 \$x \{y\} \textasciitilde{} \textasciicircum{} \textless{}\textgreater{} '
        r'\textbackslash{}'
    )
    assert latex_escape('plain-text 0.5') == 'plain-text 0.5'


def test_a_failed_ceiling_fit_is_a_no_fit_cell_named_in_the_caption_not_a_warning():
    tiny = dataset('tiny', [1.0, 2.0, 3.0])  # levels [1, 1, 2]: 3 pairs, too few for the 4-parameter logistic
    rows = [row('m', 'tiny', 0.5, 0.5, 0.5, 0.5), row('m', 'live_c', 0.5, 0.5, 0.5, 0.5)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        table = paper_table(rows, [tiny, LIVE], [2, 3], fitted_plcc=True)
    assert not [w for w in caught if issubclass(w.category, FitFailedWarning)]
    cells = table.ceilings[2]
    srcc = stats.spearmanr([1, 1, 2], [1.0, 2.0, 3.0])[0]
    live = ceiling_figures(MOS, 2)
    assert [c.text for c in cells] == [shown(srcc), 'no fit', shown(live['srcc']), shown(live['plcc_fitted'])]
    assert math.isnan(cells[1].value) and not cells[1].best
    assert table.notes == ['No fit in the ceiling row: its logistic fit failed for K = 2 on tiny, K = 3 on tiny.']
    assert to_latex(table).splitlines()[-5] == (
        rf'\textit{{Ceiling}} ($K = 2$) & {shown(srcc)} & no fit & {shown(live["srcc"])} & '
        rf'{shown(live["plcc_fitted"])} \\'
    )
