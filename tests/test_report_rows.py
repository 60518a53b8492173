"""The benchmark tables from rows written by hand: pyiqa's CSV layout, the long CSV, the markdown
table and the cells that say why a figure is missing (the layout the module docstring gives)."""

import csv
import math

from pyiqa_llmiqa.bench.report import Row, figure_text, fit_note, markdown, write_long_csv, write_pyiqa_csv

NAN = math.nan


def row(metric='m1', dataset='d1', figures=(0.123449, 0.987654, -0.5, 0.25), **extra):
    values = dict(
        metric=metric,
        dataset=dataset,
        key=f'{metric}-{dataset}-key',
        mos=[1.0, 2.0, 3.0],
        scores=[0.1, 0.2, 0.3],
        failed=1,
        missing=2,
        sign_turned=False,
        figures=dict(zip(('srcc', 'plcc', 'krcc', 'plcc_fitted'), figures)),
    )
    values.update(extra)
    return Row(**values)


def read(path):
    with open(path, newline='', encoding='utf-8') as handle:
        return list(csv.reader(handle))


def test_pyiqa_csv_one_line_per_metric_plcc_srcc_krcc_rounded_to_4(tmp_path):
    rows = [
        row('m1', 'd1'),
        row('m1', 'd2', figures=(0.5, 0.25, 0.125, 0.3)),
        row('m2', 'd1', figures=(NAN, NAN, NAN, NAN), missing_why='const.'),
    ]
    write_pyiqa_csv(rows, tmp_path / 'b.csv')
    assert read(tmp_path / 'b.csv') == [
        ['Metric name', 'd1(PLCC/SRCC/KRCC)', 'd2(PLCC/SRCC/KRCC)'],
        ['m1', '0.9877/0.1234/-0.5', '0.25/0.5/0.125'],
        ['m2', 'nan/nan/nan', ''],  # no row for m2 on d2: an empty cell
    ]


def test_long_csv_every_figure_unrounded_with_counts_and_note(tmp_path):
    rows = [
        row('m1', 'd1'),
        row('m2', 'd1', figures=(NAN, NAN, NAN, NAN), missing_why='n<3', scores=[0.1]),
        row('m3', 'd1', figures=(0.5, 0.5, 0.5, NAN), fit_failed=True),
    ]
    write_long_csv(rows, tmp_path / 'l.csv')
    assert read(tmp_path / 'l.csv') == [
        ['metric', 'dataset', 'key', 'n', 'failed', 'missing', 'srcc', 'plcc', 'krcc', 'plcc_fitted', 'note'],
        ['m1', 'd1', 'm1-d1-key', '3', '1', '2', '0.123449', '0.987654', '-0.5', '0.25', ''],
        ['m2', 'd1', 'm2-d1-key', '1', '1', '2', 'nan', 'nan', 'nan', 'nan', 'fewer than 3 scored images'],
        [
            'm3',
            'd1',
            'm3-d1-key',
            '3',
            '1',
            '2',
            '0.5',
            '0.5',
            '0.5',
            'nan',
            'the logistic fit failed (did not converge, ended flat, or had fewer than 4 images): no fitted PLCC',
        ],
    ]


def test_notes_say_why_figures_are_missing():
    assert row().note == ''
    assert row(missing_why='const.').note == 'constant predictions: no correlation is defined'
    assert row(missing_why='n<3').note == 'fewer than 3 scored images'
    # too few pairs is the reason even when the fit also failed
    assert row(missing_why='n<3', fit_failed=True).note == 'fewer than 3 scored images'


def test_figure_text():
    r = row()
    assert [figure_text(r, f) for f in ('srcc', 'plcc', 'krcc', 'plcc_fitted')] == [
        '0.1234',
        '0.9877',
        '-0.5000',
        '0.2500',
    ]
    assert figure_text(r, 'plcc', 3) == '0.988'
    assert [figure_text(row(missing_why='const.'), f) for f in ('srcc', 'plcc_fitted')] == ['const.', 'const.']
    failed = row(fit_failed=True)
    assert (figure_text(failed, 'plcc_fitted'), figure_text(failed, 'plcc')) == ('no fit', '0.9877')


def test_fit_note_names_each_failed_fit_of_a_row_with_figures():
    assert fit_note([row(), row('m2')]) == ''
    rows = [
        row('m1', 'd1', fit_failed=True),
        row('m2', 'd1'),
        row('m3', 'd2', fit_failed=True),
        row('m4', 'd2', fit_failed=True, missing_why='n<3'),
    ]
    assert fit_note(rows) == (
        'no fit: the 4-parameter logistic fit of pyiqa failed (did not converge, ended flat, or had '
        'fewer than 4 images) for m1 on d1, m3 on d2; fitted PLCC left out'
    )


def test_markdown_table():
    rows = [row('m1', 'd1'), row('m2', 'd1', missing_why='const.'), row('m3', 'd2', fit_failed=True)]
    assert markdown(rows) == '\n'.join(
        [
            '| metric | data set | n | failed | SRCC | PLCC | KRCC | PLCC fitted |',
            '|---|---|---|---|---|---|---|---|',
            '| m1 | d1 | 3 | 1 | 0.1234 | 0.9877 | -0.5000 | 0.2500 |',
            '| m2 | d1 | 3 | 1 | const. | const. | const. | const. |',
            '| m3 | d2 | 3 | 1 | 0.1234 | 0.9877 | -0.5000 | no fit |',
            '',
            'no fit: the 4-parameter logistic fit of pyiqa failed (did not converge, ended flat, or had fewer '
            'than 4 images) for m3 on d2; fitted PLCC left out',
        ]
    )
    assert markdown([row()]).count('\n') == 2  # no note line when every fit converged
