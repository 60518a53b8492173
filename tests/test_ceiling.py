"""Tests for pyiqa_llmiqa.bench.ceiling (the paper's Table 1) and the ``ceiling`` subcommand."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pyiqa_llmiqa.bench.ceiling import RULES, ceiling, ceiling_figure, ceiling_table, plot_ceiling, quantize
from pyiqa_llmiqa.cli.commands import ceiling as ceiling_cmd
from pyiqa_llmiqa.cli.main import build_parser

# --- quantize by hand -------------------------------------------------------


def test_equal_width_by_hand():
    # K (m - 0) / 6 = m / 2 for K = 3: 0, .5, 1, 1.5, 2, 2.5, 3 -> ceil, at least 1
    np.testing.assert_array_equal(quantize([0, 1, 2, 3, 4, 5, 6], 3, 'equal_width'), [1, 1, 1, 2, 2, 3, 3])
    assert quantize([0, 1, 2, 3, 4, 5, 6], 3).tolist() == [1, 1, 1, 2, 2, 3, 3]  # the default


def test_minmax_round_by_hand():
    # 1 + 2 m / 6: 1, 1.33, 1.67, 2, 2.33, 2.67, 3
    assert quantize([0, 1, 2, 3, 4, 5, 6], 3, 'minmax_round').tolist() == [1, 1, 2, 2, 2, 3, 3]


def test_minmax_round_ties_go_to_even():
    # 1 + m / 2: 1, 1.5 -> 2, 2, 2.5 -> 2, 3
    assert quantize([0, 1, 2, 3, 4], 3, 'minmax_round').tolist() == [1, 2, 2, 2, 3]


def test_quantize_returns_ints_and_ignores_order():
    q = quantize([10.0, 0.0, 5.0], 5)
    assert q.dtype == np.int64
    assert q.tolist() == [5, 1, 3]  # 5 * 5 / 10 = 2.5 -> 3


def test_ceiling_by_hand():
    # K = 2 on 0..3: 2 m / 3 = 0, .67, 1.33, 2 -> 1, 1, 2, 2.
    # Centred levels (-.5, -.5, .5, .5) vs centred MOS (-1.5, -.5, .5, 1.5):
    # r = 2 / (1 * sqrt(5)); Spearman gives the same on the ranks.
    got = ceiling([0, 1, 2, 3], 2)
    expected = 2 / math.sqrt(5)
    assert got['srcc'] == pytest.approx(expected, abs=1e-12)
    assert got['plcc'] == pytest.approx(expected, abs=1e-12)
    assert got['value'] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize('rule', RULES)
def test_ceiling_is_one_when_levels_fit_the_mos(rule):
    got = ceiling([1, 2, 3, 4, 5, 3, 2], 5, rule)
    assert got == pytest.approx({'srcc': 1.0, 'plcc': 1.0, 'value': 1.0})


def test_ceiling_is_affine_invariant():
    rng = np.random.default_rng(7)
    mos = rng.uniform(0, 1, 400)
    for rule in RULES:
        a = ceiling(mos, 7, rule)
        b = ceiling(mos * 40 + 10, 7, rule)
        assert a['value'] == pytest.approx(b['value'], abs=1e-9)


def test_ceiling_table_shape_and_order():
    rng = np.random.default_rng(3)
    mos = rng.normal(50, 15, 500)
    table = ceiling_table(mos)
    assert list(table) == [3, 5, 7, 9]
    for k, row in table.items():
        assert row == ceiling(mos, k)
        assert row['value'] == pytest.approx((row['srcc'] + row['plcc']) / 2)
    assert list(ceiling_table(mos, levels=(9, 4), rule='minmax_round')) == [9, 4]
    values = [table[k]['value'] for k in (3, 5, 7, 9)]
    assert values == sorted(values)  # more levels, higher ceiling (here)


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(mos=[1, 2, 3], levels=1), 'at least 2'),
        (dict(mos=[1, 2, 3], levels=2.5), 'integer'),
        (dict(mos=[1, 2, 3], levels=True), 'integer'),
        (dict(mos=[1, 2, 3], levels=3, rule='floor'), 'rule must be one of'),
        (dict(mos=[4, 4, 4], levels=3), 'all MOS values are equal'),
        (dict(mos=[1, float('nan'), 3], levels=3), 'NaN'),
        (dict(mos=[], levels=3), 'non-empty'),
    ],
)
def test_quantize_rejects(kwargs, message):
    with pytest.raises(ValueError, match=message):
        quantize(**kwargs)


def test_ceiling_needs_three_values():
    with pytest.raises(ValueError, match='at least 3'):
        ceiling([1, 2], 3)


# --- property tests ---------------------------------------------------------

mos_lists = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False), min_size=2, max_size=60
)


@settings(max_examples=300, deadline=None)
@given(mos=mos_lists, k=st.integers(min_value=2, max_value=20), rule=st.sampled_from(RULES))
def test_quantize_levels_within_range_and_monotone(mos, k, rule):
    assume(max(mos) > min(mos))
    q = quantize(mos, k, rule)
    assert q.shape == (len(mos),)
    assert q.min() >= 1 and q.max() <= k
    order = np.argsort(np.asarray(mos), kind='stable')
    assert np.all(np.diff(q[order]) >= 0), 'a higher MOS got a lower level'
    # The ends of the range land on the end levels.
    assert q[int(np.argmin(mos))] == 1
    assert q[int(np.argmax(mos))] == k


@settings(max_examples=200, deadline=None)
@given(m1=st.floats(0, 1), m2=st.floats(0, 1), k=st.integers(2, 12), rule=st.sampled_from(RULES))
def test_quantize_pairwise_monotone(m1, m2, k, rule):
    # With the range pinned to [0, 1], m1 <= m2 must give level(m1) <= level(m2).
    q = quantize([0.0, 1.0, m1, m2], k, rule)
    if m1 <= m2:
        assert q[2] <= q[3]
    else:
        assert q[2] >= q[3]


# --- the paper's figure on SPAQ and the README table ---------------------------


def _mos(path):
    from pyiqa_llmiqa.bench.meta_info import read_meta_info

    return [m for _, m in read_meta_info(path)]


def test_spaq_k7_reproduces_table_1(mos_file):
    mos = _mos(mos_file('meta_info_SPAQDataset.csv'))
    assert len(mos) == 11125
    assert round(ceiling(mos, 7, 'equal_width')['value'], 4) == 0.9833
    assert round(ceiling(mos, 7)['value'], 4) == 0.9833
    assert round(ceiling(mos, 7, 'minmax_round')['value'], 4) == 0.9777
    # The paper's 0.983 (three decimals) is the equal-width rule's.
    assert round(ceiling(mos, 7)['value'], 3) == 0.983


# Measured figures of shared/data/mos/README.md, on the files of tests/data/mos.
README_EQUAL_WIDTH = {
    'meta_info_SPAQDataset.csv': (0.9315, 0.9679, 0.9833, 0.9897),
    'meta_info_KonIQ10kDataset.csv': (0.8926, 0.9488, 0.9691, 0.9817),
    'meta_info_KADID10kDataset_withdist.csv': (0.9437, 0.9798, 0.9893, 0.9934),
}


@pytest.mark.parametrize('name', sorted(README_EQUAL_WIDTH))
def test_readme_table_equal_width(name, mos_file):
    table = ceiling_table(_mos(mos_file(name)))
    got = tuple(round(table[k]['value'], 4) for k in (3, 5, 7, 9))
    assert got == README_EQUAL_WIDTH[name]


def test_readme_table_spaq_minmax_round(mos_file):
    table = ceiling_table(_mos(mos_file('meta_info_SPAQDataset.csv')), rule='minmax_round')
    assert tuple(round(table[k]['value'], 4) for k in (3, 5, 7, 9)) == (0.8219, 0.9508, 0.9777, 0.9871)


def test_readme_table_agiqa(tmp_path, mos_file):
    from pyiqa_llmiqa.bench.meta_info import convert_agiqa

    out = tmp_path / 'meta_info_AGIQA-3K.csv'
    convert_agiqa(mos_file('AGIQA-3K_data.csv'), out)
    table = ceiling_table(_mos(out))
    assert tuple(round(table[k]['value'], 4) for k in (3, 5, 7, 9)) == (0.9287, 0.9622, 0.9801, 0.9879)


# --- plot -------------------------------------------------------------------


def test_plot_ceiling_writes_a_png(tmp_path):
    rng = np.random.default_rng(0)
    table = {'A': ceiling_table(rng.uniform(0, 1, 100)), 'B': {3: 0.9, 5: 0.95, 7: 0.97}}
    out = plot_ceiling(table, tmp_path / 'ceiling.png')
    data = Path(out).read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    assert len(data) > 1000


def test_the_figure_plots_each_data_set_against_k(recwarn):
    # values read back from the figure: one line per data set, in the table's order, with its name
    # in the legend; a ceiling() dict plots its 'value'; K in increasing order whatever the table's
    table = {
        'SPAQ': {7: {'srcc': 0.98, 'plcc': 0.99, 'value': 0.985}, 3: {'srcc': 0.8, 'plcc': 0.9, 'value': 0.85}},
        'KonIQ': {5: 0.9, 3: 0.8, 9: 0.95},
    }
    fig = ceiling_figure(table, title='Ceiling')
    (ax,) = fig.axes
    spaq, koniq = ax.get_lines()
    assert spaq.get_xdata().tolist() == [3, 7] and spaq.get_ydata().tolist() == [0.85, 0.985]
    assert koniq.get_xdata().tolist() == [3, 5, 9] and koniq.get_ydata().tolist() == [0.8, 0.9, 0.95]
    assert spaq.get_marker() == 'o' and koniq.get_marker() == 'o'  # each K a point, not only a line
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ['SPAQ', 'KonIQ']
    assert ax.get_xticks().tolist() == [3, 5, 7, 9]
    assert ax.get_xlabel() == 'K (number of integer levels)'
    assert ax.get_ylabel() == 'ceiling, (SRCC + PLCC) / 2' and ax.get_title() == 'Ceiling'
    # a faint grid to read values against
    gridlines = ax.get_xgridlines() + ax.get_ygridlines()
    assert gridlines and all(line.get_visible() and line.get_alpha() == 0.3 for line in gridlines)
    # one plot filling the figure: the axes span most of its width and height
    box = ax.get_position()
    assert box.width > 0.7 and box.height > 0.7
    assert not recwarn.list


def test_the_figure_has_a_default_title_and_names_that_are_not_strings():
    ax = ceiling_figure({2024: {3: 0.9, 5: 0.95}}).axes[0]
    assert ax.get_title() == 'Best possible K-level integer scorer'
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ['2024']


def test_plot_ceiling_saves_a_720_by_480_png(tmp_path):
    from PIL import Image

    out = plot_ceiling({'A': {3: 0.9, 5: 0.95}}, str(tmp_path / 'ceiling.png'))
    assert out == tmp_path / 'ceiling.png'
    with Image.open(out) as image:
        assert image.format == 'PNG' and image.size == (720, 480)


def test_plot_ceiling_saves_the_figure_with_its_title(tmp_path):
    # the title is drawn: the PNG is the titled figure's pixels, not the default title's
    import io

    from PIL import Image

    def pixels(fig):
        buffer = io.BytesIO()
        fig.savefig(buffer, format='png')
        return np.asarray(Image.open(buffer))

    table = {'A': {3: 0.9, 5: 0.95}}
    with Image.open(plot_ceiling(table, tmp_path / 'ceiling.png', title='K-level ceiling, SPAQ')) as image:
        saved = np.asarray(image)
    assert np.array_equal(saved, pixels(ceiling_figure(table, 'K-level ceiling, SPAQ')))
    assert not np.array_equal(saved, pixels(ceiling_figure(table)))


def test_a_data_set_without_levels_is_named():
    with pytest.raises(ValueError, match="^no levels for data set 'B'$"):
        ceiling_figure({'A': {3: 0.9}, 'B': {}})


def test_quantize_names_a_missing_mos():
    with pytest.raises(ValueError, match='^mos holds NaN or infinite values$'):
        quantize([1.0, None, 3.0], 3)


def test_plot_ceiling_rejects_an_empty_table(tmp_path):
    with pytest.raises(ValueError, match='empty'):
        plot_ceiling({}, tmp_path / 'x.png')


# --- subcommand -------------------------------------------------------------


def _write(path, text):
    path.write_text(text, encoding='utf-8')
    return path


def test_cli_defaults():
    args = build_parser().parse_args(['ceiling', '--meta-info', 'a.csv'])
    assert args.meta_info == ['a.csv']
    assert args.levels == [3, 5, 7, 9]
    assert args.rule == 'equal_width'
    assert args.json is False
    assert args.run is ceiling_cmd.run


def test_cli_table(tmp_path, capsys):
    a = _write(tmp_path / 'meta_info_FooDataset.csv', 'img_name,mos\n' + ''.join(f'{i}.jpg,{i}\n' for i in range(7)))
    b = _write(
        tmp_path / 'meta_info_BarDataset_withdist.csv',
        'ref_name,dist_name,dmos\n' + ''.join(f'r.png,{i}.png,{i * i}\n' for i in range(9)),
    )
    args = build_parser().parse_args(
        [
            'ceiling',
            '--meta-info',
            str(a),
            '--meta-info',
            str(b),
            '--levels',
            '3',
            '7',
            '--plot',
            str(tmp_path / 'p.png'),
        ]
    )
    assert args.run(args) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith('|')]
    assert lines[0].split('|')[1:-1] == [' data set ', ' n ', ' K=3 ', ' K=7 ']
    assert lines[2].startswith('| Foo | 7 |')
    assert lines[3].startswith('| Bar | 9 |')
    expected = ceiling(list(range(7)), 3)['value']
    assert f'{expected:.4f}' in lines[2]
    assert (tmp_path / 'p.png').is_file()


def test_cli_json(tmp_path, capsys):
    a = _write(tmp_path / 'meta_info_FooDataset.csv', 'img_name,mos\n' + ''.join(f'{i}.jpg,{i}\n' for i in range(7)))
    args = build_parser().parse_args(
        ['ceiling', '--meta-info', str(a), '--levels', '3', '--rule', 'minmax_round', '--json']
    )
    assert args.run(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out['rule'] == 'minmax_round'
    got = out['datasets']['Foo']['ceiling']['3']
    assert got == pytest.approx(ceiling(list(range(7)), 3, 'minmax_round'))


def test_cli_bad_file(tmp_path, capsys):
    bad = _write(tmp_path / 'meta_info_BadDataset.csv', 'img_name,mos\na.jpg,1\nb.jpg,x\n')
    args = build_parser().parse_args(['ceiling', '--meta-info', str(bad)])
    assert args.run(args) == 2
    err = capsys.readouterr().err
    assert 'meta_info_BadDataset.csv' in err and 'line 3' in err


def test_cli_spaq(capsys, mos_file):
    path = mos_file('meta_info_SPAQDataset.csv')
    args = build_parser().parse_args(['ceiling', '--meta-info', str(path), '--levels', '7'])
    assert args.run(args) == 0
    assert '| SPAQ | 11125 | 0.9833 |' in capsys.readouterr().out
