"""``FILE.html`` beside the results of ``score --out FILE.jsonl``: one offline page to look at a collection.

Same rules as the bench report (pictures as ``data:`` URIs, no script, no font, no link out): the
score histogram, the lowest and highest scored images and those the model was least sure of (the
largest spread of the whole image's level distribution), each with its regions and region scores
drawn as ``explain`` draws them, and the failed files with their reasons.
"""

import html
import json
import os
from pathlib import Path
from typing import Dict, List

from pyiqa_llmiqa.bench.collection import collection_store
from pyiqa_llmiqa.bench.collection_summary import summary
from pyiqa_llmiqa.bench.html_report import MAX_FAILED_SHOWN, STYLE, figure_bytes, image_tag, region_thumbnail
from pyiqa_llmiqa.common.printable import printable_path


def _histogram(scores: List[float]) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.hist(scores, bins=30, color='#4477aa')
    axes.set_xlabel('score')
    axes.set_ylabel('images')
    figure.tight_layout()
    return image_tag(figure_bytes(figure), 'score histogram', css='wide')


def _card(name: str, record: dict, folder: Path) -> str:
    from pyiqa_llmiqa.inputs.images import load_image

    local = record.get('local_score')
    spread = record.get('spread')
    caption = (
        f'{name}: score {record["score"]:.3f} (global {record["global_score"]:.2f}, local '
        f'{"n/a" if local is None else f"{local:.2f}"}); spread {"n/a" if spread is None else f"{spread:.2f}"}; '
        f'{record.get("n_masks", 0)} masks, {record.get("n_kept", 0)} kept'
    )
    try:
        shown = image_tag(region_thumbnail(load_image(folder / name), record), name, 'image/jpeg')
    except Exception:  # moved or unreadable since the run: say so
        shown = f'<p>image not readable at {html.escape(str(folder / name))}</p>'
    return f'<figure>{shown}<figcaption>{html.escape(caption)}</figcaption></figure>'


def _cards(chosen, records: Dict[str, dict], folder: Path) -> str:
    return f'<div class="grid">{"".join(_card(name, records[name], folder) for name in chosen)}</div>'


def _failed(records: Dict[str, dict]) -> str:
    failed = [(name, r['error']) for name, r in records.items() if 'score' not in r]
    if not failed:
        return '<p>No image failed.</p>'
    rows = ''.join(
        f'<tr><td class="text">{html.escape(n)}</td><td class="text">{html.escape(e)}</td></tr>'
        for n, e in failed[:MAX_FAILED_SHOWN]
    )
    more = len(failed) - MAX_FAILED_SHOWN
    note = f'<p class="note">{more} more: see the "error" fields of the results file.</p>' if more > 0 else ''
    return (
        '<table id="failed"><thead><tr><th class="text">Image</th><th class="text">Reason</th></tr></thead>'
        f'<tbody>{rows}</tbody></table>{note}'
    )


def write_collection_html(out: Path, count: int = 8) -> Path:
    """Write the page of the results in ``out`` (FILE.jsonl) to FILE.html; ``count`` images per list.
    Relative image names are found from the folder the run was started in (its options file says)."""
    store = collection_store(out)
    records = store.records()
    described = store.folder / f'{store.stem}.options.json'
    about = json.loads(described.read_text(encoding='utf-8')) if described.is_file() else {}
    folder = Path(about.get('folder', os.getcwd()))
    scored = [name for name, r in records.items() if 'score' in r]
    by_score = sorted(scored, key=lambda name: records[name]['score'])
    unsure = sorted((n for n in scored if records[n].get('spread') is not None), key=lambda n: -records[n]['spread'])
    sections = [
        (
            'summary',
            'Scores',
            f'<pre>{html.escape(summary(records.values()))}</pre>'
            + (_histogram([records[n]['score'] for n in scored]) if scored else ''),
        ),
        ('lowest', f'The {min(count, len(scored))} lowest scores', _cards(by_score[:count], records, folder)),
        ('highest', f'The {min(count, len(scored))} highest scores', _cards(by_score[::-1][:count], records, folder)),
        (
            'unsure',
            'Least certain',
            '<p class="note">The largest spread (standard deviation over the levels) of the whole image\'s '
            'answer: the images the model was least sure about.</p>'
            + (_cards(unsure[:count], records, folder) if unsure else '<p>No record has a spread.</p>'),
        ),
        ('failed', 'Failed images', _failed(records)),
        ('options', 'Options', f'<pre>{html.escape(json.dumps(about, indent=2, default=str))}</pre>'),
    ]
    nav = ''.join(f'<a href="#{key}">{html.escape(title)}</a>' for key, title, _ in sections)
    body = ''.join(
        f'<section id="{key}"><h2>{html.escape(title)}</h2>{content}</section>' for key, title, content in sections
    )
    title = f'Scores: {printable_path(store.path.name)}'
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{html.escape(title)}</title><style>{STYLE}</style></head>'
        f'<body><h1>{html.escape(title)}</h1><p class="note">{html.escape(printable_path(store.path.resolve()))}; '
        f'boxes: the regions scored, labelled with their score and share of the image; dashed: the '
        f'background.</p><nav>{nav}</nav>{body}</body></html>\n'
    )
    path = store.path.with_suffix('.html')
    path.write_text(page, encoding='utf-8')
    return path
