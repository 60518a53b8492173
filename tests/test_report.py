"""Tables, report.html and `pyiqa-llmiqa report DIR`, built from stored results written here by hand
(the records llmiqa and pyiqa metrics store), so every expected figure is computed from the inputs."""

import csv
import html.parser
import io
import math
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from pyiqa_llmiqa.bench import report as bench_report
from pyiqa_llmiqa.bench.datasets import BenchDataset, Item
from pyiqa_llmiqa.bench.manifest import write_manifest
from pyiqa_llmiqa.bench.metrics import MetricSpec, metric_specs
from pyiqa_llmiqa.bench.runner import result_store
from pyiqa_llmiqa.cli import main as cli
from pyiqa_llmiqa.metric.assessment import Assessment, RegionScore
from pyiqa_llmiqa.testing.browser import visit_page

# data set -> (MOS, llmiqa scores, piqe scores); piqe is lower-better, so its figures use -score.
SHAPES_MOS = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
SHAPES_LLMIQA = [3.0, 1.0, 2.0, 6.0, 4.0, 5.0]  # pyiqa's logistic fit converges on these
SHAPES_PIQE = [-1.1, -2.3, -2.9, -4.2, -5.5, -5.9]  # ... and does not on these (negated)
FLAT_MOS = [1.0, 2.0, 3.0, 4.0]
FLAT_LLMIQA = [2.0, 4.0, 1.0, 3.0]
FLAT_PIQE = [5.0, 5.0, 5.0, 5.0]  # constant: no correlation
BROKEN = 'broken.png'
BROKEN_REASON = 'ImageLoadError: broken.png is not an image (cannot identify image file)'
WIDTH, HEIGHT = 96, 64


def _assessment(score: float, index: int) -> dict:
    """A mix-grained llmiqa record: two masks and the background, as ``Assessment.to_dict`` stores it."""
    regions = [
        RegionScore('mask', (4, 4, 40, 30), 900, score + 0.5),
        RegionScore('mask', (50, 20, 30, 30), 600, score - 0.5),
        RegionScore('complement', (0, 0, WIDTH, HEIGHT), WIDTH * HEIGHT - 1500, score),
    ]
    return Assessment(
        score, score + 0.25 * (index % 3), score - 0.1, n_masks=3 + index, n_kept=2, regions=regions
    ).to_dict()


def _write_images(root: Path, count: int) -> list:
    rng = np.random.default_rng(count)
    names = []
    for i in range(count):
        name = f'img{i}.png'
        Image.fromarray(rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)).save(root / name)
        names.append(name)
    return names


@pytest.fixture(scope='module')
def specs():
    llmiqa, piqe = metric_specs(['llmiqa', 'piqe'], {})
    return llmiqa, piqe


@pytest.fixture(scope='module')
def stored_run(tmp_path_factory, specs):
    """A bench folder as a finished run leaves it: run.json, the JSON lines and options; nothing else."""
    base = tmp_path_factory.mktemp('stored')
    out = base / 'out'
    datasets = []
    for name, mos, broken in (('shapes', SHAPES_MOS, True), ('flat', FLAT_MOS, False)):
        root = base / name
        root.mkdir()
        names = _write_images(root, len(mos))
        items = [Item(n, root / n, m) for n, m in zip(names, mos)]
        if broken:
            items.append(Item(BROKEN, root / BROKEN, 3.5))
        datasets.append(BenchDataset(name, items, {}, False, str(root)))
    write_manifest(specs, datasets, out)
    scores = {'shapes': (SHAPES_LLMIQA, SHAPES_PIQE), 'flat': (FLAT_LLMIQA, FLAT_PIQE)}
    for dataset in datasets:
        for spec, values in zip(specs, scores[dataset.name]):
            store = result_store(out, spec, dataset)
            store.write_options(
                {'metric': spec.name, 'options': spec.options, 'augment': {}, 'key': spec.key(dataset.augment)}
            )
            with store.appender(0) as append:
                for index, (item, value) in enumerate(zip(dataset.items, values)):
                    record = _assessment(value, index) if spec.is_llmiqa else {'score': value}
                    append({'image': item.name, 'mos': item.mos, **record})
                if dataset.name == 'shapes':
                    append({'image': BROKEN, 'mos': 3.5, 'error': BROKEN_REASON})
            store.merge([item.name for item in dataset.items])
    return out


@pytest.fixture(scope='module')
def built(stored_run, tmp_path_factory):
    """The stored run after `pyiqa-llmiqa report DIR --worst 2`, with scoring made impossible."""
    out = tmp_path_factory.mktemp('built') / 'out'
    shutil.copytree(stored_run, out)
    original = MetricSpec.build
    MetricSpec.build = lambda *a, **k: pytest.fail('report must not score')
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            assert cli.main(['report', str(out), '--worst', '2']) == 0
    finally:
        MetricSpec.build = original
    out.joinpath('caught.txt').write_text('\n'.join(str(w.message) for w in caught))
    return out


def expected_figures(scores, mos, lower_better):
    pred = [-s for s in scores] if lower_better else list(scores)
    return {
        'srcc': stats.spearmanr(pred, mos)[0],
        'plcc': stats.pearsonr(pred, mos)[0],
        'krcc': stats.kendalltau(pred, mos)[0],
    }


EXPECTED = {
    ('llmiqa', 'shapes'): expected_figures(SHAPES_LLMIQA, SHAPES_MOS, False),
    ('piqe', 'shapes'): expected_figures(SHAPES_PIQE, SHAPES_MOS, True),
    ('llmiqa', 'flat'): expected_figures(FLAT_LLMIQA, FLAT_MOS, False),
}


def ceiling_by_hand(mos, k):
    """Equal-width bins over [min, max]: level = ceil(K (m - min) / (max - min)), at least 1."""
    m = np.asarray(mos)
    levels = np.maximum(1, np.ceil(k * (m - m.min()) / (m.max() - m.min())))
    return {'srcc': stats.spearmanr(levels, m)[0], 'plcc': stats.pearsonr(levels, m)[0]}


def correlations_csv(out):
    with open(out / 'correlations.csv', newline='') as handle:
        return {(row['metric'], row['dataset']): row for row in csv.DictReader(handle)}


def test_correlations_csv_holds_the_figures_and_says_why_one_is_missing(built):
    rows = correlations_csv(built)
    for key, figures in EXPECTED.items():
        for name, value in figures.items():
            assert float(rows[key][name]) == pytest.approx(value, abs=1e-12)
    assert rows[('llmiqa', 'shapes')]['failed'] == '1' and rows[('llmiqa', 'shapes')]['n'] == '6'
    assert math.isnan(float(rows[('piqe', 'flat')]['srcc'])) and 'constant' in rows[('piqe', 'flat')]['note']
    assert math.isnan(float(rows[('piqe', 'shapes')]['plcc_fitted']))
    assert 'did not converge' in rows[('piqe', 'shapes')]['note']
    assert not math.isnan(float(rows[('llmiqa', 'shapes')]['plcc_fitted']))


def test_a_fit_that_fails_is_one_note_not_a_warning_per_metric(built, capsys, stored_run):
    assert 'did not converge' not in built.joinpath('caught.txt').read_text()
    rows = [bench_report.evaluate(m, d, stored_run) for m, d in _run(stored_run)]
    text = bench_report.markdown(rows)
    assert text.count('did not converge') == 1 and 'piqe on shapes' in text
    assert re.search(r'\| piqe \| shapes \|.*\| no fit \|', text)
    assert re.search(r'\| piqe \| flat \| 4 \| 0 \| const\. \| const\. \| const\. \| const\. \|', text)


def _run(out):
    from pyiqa_llmiqa.bench.manifest import read_manifest

    metrics, datasets = read_manifest(out)
    return [(m, d) for m in metrics for d in datasets]


def markdown_cells(text):
    lines = [line for line in text.splitlines() if line.startswith('|')]
    header = [c.strip() for c in lines[0].strip('|').split('|')]
    return header, {
        cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip('|').split('|')] for line in lines[2:])
    }


def test_table_md_has_the_papers_layout(built):
    header, rows = markdown_cells((built / 'table.md').read_text())
    assert header == ['Metric', 'shapes SRCC', 'shapes PLCC', 'flat SRCC', 'flat PLCC']
    e = EXPECTED
    llmiqa_s, piqe_s, llmiqa_f = e[('llmiqa', 'shapes')], e[('piqe', 'shapes')], e[('llmiqa', 'flat')]
    best_srcc = max(llmiqa_s['srcc'], piqe_s['srcc'])
    best_plcc = max(llmiqa_s['plcc'], piqe_s['plcc'])

    def shown(value, best):
        text = f'{value:.3f}'
        return f'**{text}**' if round(value, 3) == round(best, 3) else text

    assert rows['llmiqa'] == [
        shown(llmiqa_s['srcc'], best_srcc),
        shown(llmiqa_s['plcc'], best_plcc),
        f'**{llmiqa_f["srcc"]:.3f}**',
        f'**{llmiqa_f["plcc"]:.3f}**',
    ]
    assert rows['piqe'] == [shown(piqe_s['srcc'], best_srcc), shown(piqe_s['plcc'], best_plcc), 'const.', 'const.']
    ceiling_shapes = ceiling_by_hand(SHAPES_MOS + [3.5], 7)
    ceiling_flat = ceiling_by_hand(FLAT_MOS, 7)
    assert rows['*Ceiling, K = 7*'] == [
        f'*{v:.3f}*'
        for v in (ceiling_shapes['srcc'], ceiling_shapes['plcc'], ceiling_flat['srcc'], ceiling_flat['plcc'])
    ]
    caption = (built / 'table.md').read_text().strip().splitlines()[-1]
    assert 'Images: shapes 7, flat 4' in caption and 'llmiqa 1 on shapes' in caption and 'const.' in caption


def test_krcc_on_request(stored_run, tmp_path):
    out = tmp_path / 'out'
    shutil.copytree(stored_run, out)
    assert cli.main(['report', str(out), '--krcc', '--digits', '4']) == 0
    header, rows = markdown_cells((out / 'table.md').read_text())
    assert header[1:4] == ['shapes SRCC', 'shapes PLCC', 'shapes KRCC']
    assert rows['llmiqa'][2].strip('*') == f'{EXPECTED[("llmiqa", "shapes")]["krcc"]:.4f}'
    levels = np.maximum(1, np.ceil(7 * (np.array(FLAT_MOS) - 1) / 3))
    assert rows['*Ceiling, K = 7*'][5] == f'*{stats.kendalltau(levels, FLAT_MOS)[0]:.4f}*'


def parse_tabular(tex):
    """(column spec, rows of cells) of the one tabular in ``tex``; checks braces and booktabs rules."""
    depth = 0
    for ch in re.sub(r'\\[{}]', '', tex):
        depth += {'{': 1, '}': -1}.get(ch, 0)
        assert depth >= 0, 'a closing brace without its opening one'
    assert depth == 0, 'unbalanced braces'
    spec = re.search(r'\\begin\{tabular\}\{([^}]*)\}', tex).group(1)
    body = tex.split(re.search(r'\\begin\{tabular\}\{[^}]*\}', tex).group(0))[1].split(r'\end{tabular}')[0]
    assert body.lstrip().startswith(r'\toprule') and body.rstrip().endswith(r'\bottomrule')
    assert r'\midrule' in body and r'\cmidrule' in body
    rows = []
    for line in body.split(r'\\'):
        line = re.sub(r'\\(toprule|midrule|bottomrule)|\\cmidrule\([lr]+\)\{[^}]*\}', '', line).strip()
        if line:
            rows.append([c.strip() for c in line.split('&')])
    return spec, rows


def columns_of(spec, row):
    """How many columns a row fills (``\\multicolumn{n}`` counts n)."""
    return sum(int(m.group(1)) if (m := re.match(r'\\multicolumn\{(\d+)\}', c)) else 1 for c in row)


def tex_number(cell):
    return float(re.sub(r'\\textbf\{(.*)\}', r'\1', cell).replace('$-$', '-'))


def test_table_tex_parses_and_holds_the_csv_figures(built):
    tex = (built / 'table.tex').read_text()
    spec, rows = parse_tabular(tex)
    width = len(spec.replace(' ', ''))
    assert width == 1 + 2 * 2
    assert all(columns_of(spec, row) == width for row in rows)
    figures = correlations_csv(built)
    body = {row[0]: row[1:] for row in rows[2:]}
    for metric, dataset, column in (('llmiqa', 'shapes', 0), ('piqe', 'shapes', 0), ('llmiqa', 'flat', 2)):
        cells = body[metric][column : column + 2]
        expected = [round(float(figures[(metric, dataset)][f]), 3) for f in ('srcc', 'plcc')]
        assert [tex_number(c) for c in cells] == expected
    assert body['piqe'][2:] == ['const.', 'const.']
    assert r'llmiqa' in body and r'\textit{Ceiling} ($K = 7$)' in body
    assert 'Images: shapes 7, flat 4' in tex


def test_table_tex_compiles_where_latex_is_installed(built, tmp_path):
    pdflatex = shutil.which('pdflatex')
    if not pdflatex:
        pytest.skip('pdflatex is not installed; the .tex is checked by the parser test')
    document = tmp_path / 'doc.tex'
    document.write_text(
        '\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n'
        + (built / 'table.tex').read_text()
        + '\\end{document}\n'
    )
    done = subprocess.run(
        [pdflatex, '-interaction=nonstopmode', '-halt-on-error', document.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / 'doc.pdf').stat().st_size > 1000


class _Page(html.parser.HTMLParser):
    """The images, the figure captions and the text of report.html."""

    def __init__(self):
        super().__init__()
        self.images, self.captions, self.text, self._caption = [], [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'img':
            self.images.append(attrs)
        elif tag == 'figcaption':
            self._caption = ''
        elif tag == 'script' or (tag == 'link' and not attrs.get('href', '').startswith('data:')):
            raise AssertionError(f'the report loads something: <{tag} {attrs}>')

    def handle_endtag(self, tag):
        if tag == 'figcaption':
            self.captions.append(self._caption)
            self._caption = None

    def handle_data(self, data):
        self.text.append(data)
        if self._caption is not None:
            self._caption += data


def test_report_is_one_file_with_the_worst_ranked_images_failures_and_options(built):
    page = _Page()
    page.feed((built / 'report.html').read_text())
    import base64

    for image in page.images:  # every picture inline, and a picture
        assert image['src'].startswith('data:image/')
        Image.open(io.BytesIO(base64.b64decode(image['src'].split(',', 1)[1]))).verify()
    alts = [image['alt'] for image in page.images]
    assert 'ceiling' in alts and 'llmiqa on shapes' in alts and 'piqe on flat' in alts
    assert 'distributions of llmiqa on shapes' in alts
    # rank error |rank(score) - rank(MOS)| / n on shapes: img0 and img3 are 2/6 off, the others 1/6
    shapes = [c for c in page.captions if 'rank error' in c and 'of 6)' in c]
    assert [c.split(':')[0] for c in shapes] == ['img0.png', 'img3.png']
    assert 'rank error 0.33' in shapes[0] and 'rated too high' in shapes[0] and '3 masks, 2 kept' in shapes[0]
    assert 'rated too high' in shapes[1]  # img3: MOS rank 4, score rank 6
    text = ' '.join(page.text)
    assert BROKEN_REASON in text and '"score_mode": "greedy"' in text


def _visit(report, chromium):
    cells = (
        '[...document.querySelectorAll("td[data-figure]")].map(td => '
        '[td.closest("table").id, td.dataset.metric, td.dataset.dataset, td.dataset.figure, td.textContent])'
    )
    images = '[...document.images].map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])'
    return visit_page(report, {'cells': cells, 'images': images}, chromium=chromium)


def test_report_in_a_real_browser(built, chromium):
    visit = _visit(built / 'report.html', chromium)
    assert visit.console_errors == [] and visit.failed_requests == []
    outside = [url[:80] for url in visit.requests if not url.startswith(('file:', 'data:'))]
    assert outside == []
    figures = correlations_csv(built)
    seen = {}
    for table, metric, dataset, figure, text in visit.values['cells']:
        value = float(figures[(metric, dataset)][figure])
        digits = 3 if table == 'paper-table' else 4
        expected = (
            'const.'
            if (metric, dataset) == ('piqe', 'flat')
            else 'no fit'
            if (metric, dataset, figure) == ('piqe', 'shapes', 'plcc_fitted')
            else f'{value:.{digits}f}'
        )
        assert text == expected, (table, metric, dataset, figure)
        seen[table] = seen.get(table, 0) + 1
    assert seen == {'paper-table': 2 * 2 * 2, 'all-figures': 4 * 4}  # metrics x data sets x figures
    assert visit.values['images'] and all(done and w > 0 and h > 0 for _, done, w, h in visit.values['images'])
    screen = np.asarray(Image.open(io.BytesIO(visit.screenshot)).convert('L'), dtype=float)
    assert screen.shape == (768, 1366)
    assert screen.std() > 10 and (screen < 128).mean() > 0.005  # text and rules, not an empty page


def test_ceiling_plot_names_its_rule(stored_run, tmp_path, monkeypatch):
    out = tmp_path / 'out'
    shutil.copytree(stored_run, out)
    titles = []
    plot = bench_report.plot_ceiling
    monkeypatch.setattr(
        bench_report, 'plot_ceiling', lambda *a, title=None, **k: titles.append(title) or plot(*a, title=title, **k)
    )
    assert cli.main(['report', str(out)]) == 0
    assert len(titles) == 1 and 'equal-width bins' in titles[0] and 'ceil(K (m - min) / (max - min))' in titles[0]


def test_report_of_a_folder_without_a_run_says_so(tmp_path, capsys):
    assert cli.main(['report', str(tmp_path)]) == 2
    message = capsys.readouterr().err
    assert f'{tmp_path}: no run.json here' in message and 'pyiqa-llmiqa bench --out' in message
