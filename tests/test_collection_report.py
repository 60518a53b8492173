"""`pyiqa-llmiqa report FILE.jsonl`: the page of a scored collection, from records written here by hand."""

import base64
import html.parser
import io
import json
import os
import re

import numpy as np
import pytest
from PIL import Image

from pyiqa_llmiqa.bench.collection import collection_store
from pyiqa_llmiqa.cli import main as cli
from pyiqa_llmiqa.metric.assessment import Assessment, RegionScore
from pyiqa_llmiqa.testing.browser import visit_page

# name -> (score, spread of the whole image's answer)
SCORED = {
    'a.png': (3.0, 0.2),
    'b.png': (1.5, 1.9),
    'c.png': (4.5, 0.1),
    'd.png': (2.0, 0.4),
    'e.png': (4.0, 1.2),
    'f.png': (3.5, 0.0),
}
BROKEN = 'broken.png'
REASON = 'broken.png: not an image file that Pillow can read'
WIDTH, HEIGHT = 96, 64


class Page(html.parser.HTMLParser):
    """The captions of each section, and the alt text and bytes of every picture."""

    def __init__(self):
        super().__init__()
        self.section, self.captions, self.pictures, self.text = None, {}, [], []
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'section':
            self.section = attrs['id']
        elif tag == 'figcaption':
            self._in_caption = True
            self.captions.setdefault(self.section, []).append('')
        elif tag == 'img':
            self.pictures.append((attrs['alt'], attrs['src']))

    def handle_endtag(self, tag):
        if tag == 'figcaption':
            self._in_caption = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_caption:
            self.captions[self.section][-1] += data


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """A results file as `score --out` leaves it, images named relative to the folder the run started in,
    and the page that `report` builds from it in another working folder."""
    base = tmp_path_factory.mktemp('collection')
    rng = np.random.default_rng(1)
    for name in SCORED:
        Image.fromarray(rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)).save(base / name)
    out = base / 'results' / 'scores.jsonl'
    store = collection_store(out)
    store.write_options({'metric': 'llmiqa', 'options': {'score_mode': 'expectation'}, 'key': 'k', 'folder': str(base)})
    with store.appender(0) as append:
        for name, (score, spread) in SCORED.items():
            regions = [
                RegionScore('mask', (4, 4, 40, 30), 1200, score + 0.5, spread=0.3),
                RegionScore('complement', (0, 0, WIDTH, HEIGHT), WIDTH * HEIGHT - 1200, score, spread=0.6),
            ]
            record = Assessment(score, score, score, n_masks=1, n_kept=1, regions=regions, spread=spread)
            append({'image': name, **record.to_dict()})
        append({'image': BROKEN, 'error': REASON})
    store.merge([*SCORED, BROKEN])
    elsewhere = tmp_path_factory.mktemp('elsewhere')
    before = os.getcwd()
    os.chdir(elsewhere)
    try:
        assert cli.main(['report', str(out), '--worst', '2']) == 0
    finally:
        os.chdir(before)
    return base / 'results' / 'scores.html'


def _page(path):
    page = Page()
    page.feed(path.read_text(encoding='utf-8'))
    return page


def test_the_lists_hold_the_lowest_highest_and_least_certain_images_in_order(built):
    captions = _page(built).captions
    first = {section: [c.split(':')[0] for c in found] for section, found in captions.items()}
    assert first == {
        'lowest': ['b.png', 'd.png'],  # scores 1.5, 2.0
        'highest': ['c.png', 'e.png'],  # 4.5, 4.0
        'unsure': ['b.png', 'e.png'],  # spreads 1.9, 1.2
    }
    assert captions['lowest'][0].startswith('b.png: score 1.500 (global 1.50, local 1.50); spread 1.90')


def test_every_listed_image_is_drawn_with_its_regions_and_the_failures_say_why(built):
    page = _page(built)
    drawn = [(alt, src) for alt, src in page.pictures if alt.endswith('.png')]
    assert [alt for alt, _ in drawn] == ['b.png', 'd.png', 'c.png', 'e.png', 'b.png', 'e.png']
    for _, src in drawn:
        mime, data = re.match(r'data:(image/\w+);base64,(.*)', src).groups()
        picture = Image.open(io.BytesIO(base64.b64decode(data)))
        assert mime == 'image/jpeg' and picture.width > WIDTH  # drawn anew, not the file itself
    text = ' '.join(page.text)
    assert REASON in text and 'image not readable' not in text
    assert '7 images: 6 scored, 1 failed' in text and 'mean 3.083' in text  # (3+1.5+4.5+2+4+3.5)/6
    assert '"score_mode": "expectation"' in text


def test_the_page_in_a_real_browser(built, chromium):
    images = '[...document.images].map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])'
    visit = visit_page(built, {'images': images}, chromium=chromium)
    assert visit.console_errors == [] and visit.failed_requests == []
    assert [url for url in visit.requests if not url.startswith(('file:', 'data:'))] == []
    shown = visit.values['images']
    assert [alt for alt, *_ in shown] == ['score histogram', 'b.png', 'd.png', 'c.png', 'e.png', 'b.png', 'e.png']
    assert all(done and width > 0 and height > 0 for _, done, width, height in shown)
    screen = np.asarray(Image.open(io.BytesIO(visit.screenshot)).convert('L'), dtype=float)
    assert screen.std() > 10  # text and a histogram, not an empty page


def test_a_page_from_a_real_run_names_its_failures(tmp_path, digit_backbone):
    folder = tmp_path / 'photos'
    folder.mkdir()
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(folder / 'black.png')
    (folder / 'empty.png').write_bytes(b'')
    out = tmp_path / 'scores.jsonl'
    options = ['--metric', 'llmiqa_global', '--opt', f'backbone={digit_backbone}', '--device', 'cpu']
    assert cli.main(['score', str(folder), '--out', str(out), *options]) == 1
    assert cli.main(['report', str(out)]) == 0
    page = _page(tmp_path / 'scores.html')
    assert f'{folder / "empty.png"}: the file is empty' in ' '.join(page.text)
    assert [c.split(':')[0] for c in page.captions['lowest']] == [str(folder / 'black.png')]
    assert json.loads((tmp_path / 'scores.options.json').read_text())['folder'] == os.getcwd()
