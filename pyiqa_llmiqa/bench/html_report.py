"""``report.html``: one self-contained page of a bench run, to read what the metrics got wrong.

Everything is inside the file (pictures as ``data:`` URIs, no script, no font, no link out), so it
opens offline in any browser and can be mailed or archived alone. It shows the paper-layout table
and every figure; the ceiling plot; each metric's scatter against MOS; for llmiqa, the images whose
rank disagrees most with their MOS's (with their regions and region scores, drawn as ``explain``
draws them), the distributions over each data set of the number of masks (the paper's Figure 1),
of the regions kept and of global minus local score; the failed images with their reasons; and the
resolved options behind each metric's results.
"""

import base64
import html
import io
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from pyiqa_llmiqa.bench.datasets import BenchDataset
from pyiqa_llmiqa.bench.manifest import RunMetric
from pyiqa_llmiqa.bench.report import CEILING_TITLE, FIGURES, Row, figure_text, fit_note
from pyiqa_llmiqa.bench.tables import LABELS, PaperTable
from pyiqa_llmiqa.common.notices import plural

THUMBNAIL_INCHES, THUMBNAIL_DPI = 3.6, 100
MAX_FAILED_SHOWN = 200

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; padding: 1em 2em;
       max-width: 1240px; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; } h3 { margin-bottom: .3em; }
table { border-collapse: collapse; margin: .6em 0; font-variant-numeric: tabular-nums; }
th, td { padding: .25em .6em; border-bottom: 1px solid #e3e3e3; text-align: right; }
th:first-child, td:first-child, .text { text-align: left; }
thead th { border-bottom: 2px solid #888; }
tr.ceiling td { font-style: italic; color: #555; border-top: 2px solid #888; }
td.best { font-weight: bold; }
.caption, .note { color: #555; font-size: .92em; max-width: 60em; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 1em; }
figure { margin: 0; } figure img { width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: .85em; color: #444; }
img.wide { max-width: 100%; height: auto; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: .85em; }
nav a { margin-right: 1em; }
"""


def data_uri(content: bytes, mime: str) -> str:
    return f'data:{mime};base64,{base64.b64encode(content).decode("ascii")}'


def figure_bytes(figure, fmt: str = 'png') -> bytes:
    buffer = io.BytesIO()
    options = {'pil_kwargs': {'quality': 85}} if fmt == 'jpeg' else {}
    figure.savefig(buffer, format=fmt, **options)
    return buffer.getvalue()


def image_tag(path_or_bytes, alt: str, mime: str = 'image/png', css: str = '') -> str:
    content = Path(path_or_bytes).read_bytes() if isinstance(path_or_bytes, (str, Path)) else path_or_bytes
    return f'<img src="{data_uri(content, mime)}" alt="{html.escape(alt)}"{f" class={css!r}" if css else ""}>'


def _paper_table_html(table: PaperTable) -> str:
    per = len(table.figures)
    head = ''.join(f'<th colspan="{per}" style="text-align:center">{html.escape(d.name)}</th>' for d in table.datasets)
    names = ''.join(f'<th>{LABELS[f]}</th>' for _ in table.datasets for f in table.figures)
    lines = [
        '<table id="paper-table">',
        f'<thead><tr><th></th>{head}</tr><tr><th>Metric</th>{names}</tr></thead>',
        '<tbody>',
    ]
    keys = [(d.name, f) for d in table.datasets for f in table.figures]
    for metric, cells in table.rows.items():
        tds = ''.join(
            f'<td data-metric="{html.escape(metric)}" data-dataset="{html.escape(d)}" data-figure="{f}"'
            f'{" class=best" if c.best else ""}>{html.escape(c.text)}</td>'
            for (d, f), c in zip(keys, cells)
        )
        lines.append(f'<tr><td>{html.escape(metric)}</td>{tds}</tr>')
    for k, cells in table.ceilings.items():
        tds = ''.join(f'<td>{html.escape(c.text)}</td>' for c in cells)
        lines.append(f'<tr class="ceiling"><td>Ceiling, K = {k}</td>{tds}</tr>')
    lines.append('</tbody></table>')
    lines.append(f'<p class="caption">{html.escape(" ".join([table.caption] + table.notes))}</p>')
    return '\n'.join(lines)


def _long_table_html(rows: List[Row]) -> str:
    head = ''.join(f'<th>{LABELS.get(f, f)}</th>' for f in FIGURES)
    lines = [
        '<table id="all-figures">',
        f'<thead><tr><th>Metric</th><th class="text">Data set</th><th>n</th><th>failed</th>{head}'
        '<th class="text">note</th></tr></thead>',
        '<tbody>',
    ]
    for r in rows:
        tds = ''.join(
            f'<td data-metric="{html.escape(r.metric)}" data-dataset="{html.escape(r.dataset)}" '
            f'data-figure="{f}">{html.escape(figure_text(r, f))}</td>'
            for f in FIGURES
        )
        why = r.note if r.missing_why else ''  # a failed fit is told once, below the table
        lines.append(
            f'<tr><td>{html.escape(r.metric)}</td><td class="text">{html.escape(r.dataset)}</td>'
            f'<td>{len(r.scores)}</td><td>{r.failed}</td>{tds}<td class="text">{html.escape(why)}</td></tr>'
        )
    lines.append('</tbody></table>')
    note = fit_note(rows)
    if note:
        lines.append(f'<p class="note">{html.escape(note)}.</p>')
    return '\n'.join(lines)


def rank_errors(scores: List[float], mos: List[float], sign_turned: bool) -> np.ndarray:
    """``|rank(score) - rank(MOS)| / n`` per image (average ranks for ties), 0 (same place) to ~1."""
    from scipy.stats import rankdata

    predicted = rankdata(-np.asarray(scores) if sign_turned else np.asarray(scores))
    return np.abs(predicted - rankdata(mos)) / len(scores)


def _thumbnail(dataset: BenchDataset, item, record: dict) -> Optional[bytes]:
    """The image as the metric saw it, with its regions' boxes and scores; None if it cannot be read."""
    from pyiqa_llmiqa.inputs.images import load_image

    try:
        image = dataset.transform()(load_image(item.path))
    except Exception:  # moved or unreadable since the run: the caption says so
        return None
    return region_thumbnail(image, record)


def region_thumbnail(image, record: dict) -> bytes:
    """A JPEG of ``image`` with the regions of its stored ``record`` boxed and labelled, as ``explain`` draws them."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from pyiqa_llmiqa.metric.assessment import Assessment
    from pyiqa_llmiqa.metric.explain import draw_region_boxes, region_colours

    pixels = np.asarray(image.convert('RGB'))
    height, width = pixels.shape[:2]
    figure = Figure(figsize=(THUMBNAIL_INCHES, THUMBNAIL_INCHES * height / width), dpi=THUMBNAIL_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_axes([0, 0, 1, 1])
    axes.imshow(pixels)
    axes.set_axis_off()
    assessment = Assessment.from_dict(record)
    draw_region_boxes(
        axes, assessment, float(height * width), region_colours(len(assessment.regions)), fontsize=6, line_width=1.2
    )
    return figure_bytes(figure, 'jpeg')


def _worst_images(metric: RunMetric, dataset: BenchDataset, row: Row, records: Dict[str, dict], count: int) -> str:
    scored = [item for item in dataset.items if 'score' in records.get(item.name, {})]
    if len(scored) < 2 or count <= 0:
        return ''
    scores = [records[i.name]['score'] for i in scored]
    errors = rank_errors(scores, [i.mos for i in scored], row.sign_turned)
    from scipy.stats import rankdata

    mos_rank = rankdata([i.mos for i in scored])
    score_rank = rankdata(-np.asarray(scores) if row.sign_turned else scores)
    cards = []
    for index in np.argsort(-errors, kind='stable')[:count]:
        item, record = scored[index], records[scored[index].name]
        local = record.get('local_score')
        parts = (
            f' (global {record["global_score"]:.2f}, local {"n/a" if local is None else f"{local:.2f}"})'
            if 'global_score' in record
            else ''
        )
        verdict = 'rated too high' if score_rank[index] > mos_rank[index] else 'rated too low'
        caption = (
            f'{item.name}: MOS {item.mos:.3g} (rank {mos_rank[index]:g} of {len(scored)}), score '
            f'{record["score"]:.3f}{parts} (rank {score_rank[index]:g}); rank error {errors[index]:.2f}, '
            f'{verdict}; {plural(record.get("n_masks", 0), "mask")}, {record.get("n_kept", 0)} kept'
        )
        picture = _thumbnail(dataset, item, record)
        shown = (
            image_tag(picture, item.name, 'image/jpeg')
            if picture
            else f'<p>image not readable at {html.escape(str(item.path))}</p>'
        )
        cards.append(f'<figure>{shown}<figcaption>{html.escape(caption)}</figcaption></figure>')
    return (
        f'<h3>{html.escape(metric.name)} on {html.escape(dataset.name)}: largest rank errors</h3>'
        f'<div class="grid">{"".join(cards)}</div>'
    )


def _distributions(metric: RunMetric, dataset: BenchDataset, records: Dict[str, dict]) -> str:
    """Histograms of masks per image, regions kept and global minus local score (mix-grained only)."""
    scored = [r for r in records.values() if 'score' in r and 'n_masks' in r]
    differences = [r['global_score'] - r['local_score'] for r in scored if r.get('local_score') is not None]
    if not scored or not any(r['n_masks'] for r in scored):
        return ''
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator

    figure = Figure(figsize=(11, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    panels = figure.subplots(1, 3)
    for axes, key, title in (
        (panels[0], 'n_masks', 'masks per image (paper Figure 1)'),
        (panels[1], 'n_kept', 'regions kept per image'),
    ):
        values = [r[key] for r in scored]
        axes.hist(values, bins=np.arange(min(values), max(values) + 2) - 0.5, color='#4477aa')
        axes.set_title(title, fontsize=10)
        axes.set_xlabel('count')
        axes.set_ylabel('images')
        axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    panels[2].hist(differences or [0.0], bins=20, color='#aa7744')
    panels[2].set_title('global minus local score', fontsize=10)
    panels[2].set_xlabel('difference')
    panels[2].xaxis.set_major_locator(MaxNLocator(5))
    panels[2].xaxis.set_major_formatter(FormatStrFormatter('%.3g'))
    for axes in panels:
        axes.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    figure.suptitle(f'{metric.name} on {dataset.name} ({len(scored)} images)', fontsize=11)
    figure.tight_layout()
    return (
        f'<h3>{html.escape(metric.name)} on {html.escape(dataset.name)}: masks, regions, global - local</h3>'
        + image_tag(figure_bytes(figure), f'distributions of {metric.name} on {dataset.name}', css='wide')
    )


def _failed_html(metrics: List[RunMetric], datasets: List[BenchDataset], records) -> str:
    failed = [
        (m.name, d.name, name, r['error'])
        for m in metrics
        for d in datasets
        for name, r in records[(m.name, d.name)].items()
        if 'error' in r and 'score' not in r
    ]
    if not failed:
        return '<p>No image failed.</p>'
    lines = [
        '<table id="failed"><thead><tr><th>Metric</th><th class="text">Data set</th><th class="text">Image</th>'
        '<th class="text">Reason</th></tr></thead><tbody>'
    ]
    lines += [
        f'<tr><td>{html.escape(m)}</td><td class="text">{html.escape(d)}</td>'
        f'<td class="text">{html.escape(i)}</td>'
        f'<td class="text">{html.escape(e)}</td></tr>'
        for m, d, i, e in failed[:MAX_FAILED_SHOWN]
    ]
    lines.append('</tbody></table>')
    if len(failed) > MAX_FAILED_SHOWN:
        lines.append(
            f'<p class="note">{len(failed) - MAX_FAILED_SHOWN} more: see the "error" fields under predictions/.</p>'
        )
    return '\n'.join(lines)


def _options_html(metrics: List[RunMetric], datasets: List[BenchDataset], out: Path) -> str:
    parts = []
    for metric in metrics:
        for dataset in datasets:
            store = metric.store(out, dataset)
            path = store.folder / f'{store.stem}.options.json'
            text = path.read_text(encoding='utf-8') if path.is_file() else f'({path.name} not found)'
            parts.append(
                f'<details><summary>{html.escape(metric.name)} on {html.escape(dataset.name)} '
                f'(key {html.escape(metric.keys[dataset.name])})</summary>'
                f'<pre>{html.escape(text)}</pre></details>'
            )
    return '\n'.join(parts)


def write_html(
    metrics: List[RunMetric],
    datasets: List[BenchDataset],
    rows: List[Row],
    table: PaperTable,
    out: Path,
    worst: int = 4,
) -> Path:
    """Write ``out/report.html`` from the run's rows, stored records and plots."""
    out = Path(out)
    records = {(m.name, d.name): m.store(out, d).records() for m in metrics for d in datasets}
    by_key = {(r.metric, r.dataset): r for r in rows}
    sections = [('table', 'Table', _paper_table_html(table) + '<h3>All figures</h3>' + _long_table_html(rows))]
    ceiling_png = out / 'ceiling.png'
    if ceiling_png.is_file():
        rule = CEILING_TITLE.split('\n')[-1]
        sections.append(
            (
                'ceiling',
                'Ceiling of K-level scoring',
                f'<p class="note">The best (SRCC + PLCC) / 2 any scorer answering one of K integers can reach '
                f'on each data set ({html.escape(rule)}).</p>' + image_tag(ceiling_png, 'ceiling', css='wide'),
            )
        )
    scatters = []
    for r in rows:
        path = out / f'scatter_{r.metric}_{r.dataset}.png'
        if path.is_file():
            scatters.append(f'<figure>{image_tag(path, f"{r.metric} on {r.dataset}")}</figure>')
    sections.append(('scatter', 'Scores against MOS', f'<div class="grid">{"".join(scatters)}</div>'))
    llmiqa = [m for m in metrics if m.is_llmiqa]
    if llmiqa:
        parts = [
            _worst_images(m, d, by_key[(m.name, d.name)], records[(m.name, d.name)], worst)
            + _distributions(m, d, records[(m.name, d.name)])
            for m in llmiqa
            for d in datasets
        ]
        sections.append(
            (
                'llmiqa',
                'Where llmiqa disagrees with people',
                '<p class="note">Rank error: |rank of the score - rank of the MOS| / n. Boxes: the regions '
                'scored, labelled with their score and share of the image; dashed: the background.</p>'
                + ''.join(parts),
            )
        )
    sections.append(('failed', 'Failed images', _failed_html(metrics, datasets, records)))
    sections.append(('options', 'Resolved options', _options_html(metrics, datasets, out)))
    nav = ''.join(f'<a href="#{key}">{html.escape(title)}</a>' for key, title, _ in sections)
    body = ''.join(
        f'<section id="{key}"><h2>{html.escape(title)}</h2>{content}</section>' for key, title, content in sections
    )
    names = ', '.join(d.name for d in datasets)
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>Benchmark report: {html.escape(names)}</title>'
        f'<style>{STYLE}</style></head><body><h1>Benchmark report: {html.escape(names)}</h1>'
        f'<p class="note">{html.escape(str(out.resolve()))}; rebuilt from the stored results by '
        f'<code>pyiqa-llmiqa report DIR</code>.</p><nav>{nav}</nav>{body}</body></html>\n'
    )
    path = out / 'report.html'
    path.write_text(page, encoding='utf-8')
    return path
