"""The preset backbones with their published files: tokenizer, chat template, processor settings.

Each model here has the real model's config with depth and widths shrunk, random weights, and the
real non-weight files (see docs/backbone-files.md), and is loaded through ``create_metric`` as a
user's download is. Expected values come from the files themselves (the vocabulary, the jinja
template, the processor settings) or are written out by hand, not from the product's functions.

The files come from the model-files folder (``LLMIQA_MODEL_FILES``, or ``shared/model_files``
beside the checkout, as in CI), else from the hub at pinned revisions; without either the tests
skip with the reason, except under CI, which has the folder and fails without it.
"""

import hashlib
import json
import lzma
import math
import os
import pathlib

import jinja2
import numpy as np
import pyiqa
import pytest
import torch
from PIL import Image

import pyiqa_llmiqa  # noqa: F401
from pyiqa_llmiqa.engines.batching import run_in_batches
from pyiqa_llmiqa.engines.level_tokens import level_token_ids
from pyiqa_llmiqa.metric import preflight
from pyiqa_llmiqa.testing import real_config_models
from pyiqa_llmiqa.testing.hub_model_files import HUB_FILES, ModelFilesUnavailable, fetch_model_files
from pyiqa_llmiqa.testing.real_config_models import REAL_FAMILIES, build_real_config_model, find_model_files

ROOT = pathlib.Path(__file__).resolve().parents[1]
QWEN_FAMILIES = ('qwen2_5_vl', 'qwen2_vl', 'qwen3_vl')

WORD_7_STANDARD = (
    'You are a helpful assistant to help me evaluate the quality of the image. You will be given '
    'standards about each quality level. The quality standard is listed as follows: 7: Perfect, '
    '6: Excellent, 5: Good, 4: Fair, 3: Bad, 2: Poor, 1: Very Bad. The higher the image quality, '
    "the higher the score should be. Please strictly follow the USER's format, otherwise the "
    'result will be invalid.'
)
QUESTION_7 = (
    'please evaluate the quality of the image and score in [1,2,3,4,5,6,7]. Only tell me the '
    'number. Do not analyze the image.'
)
# Qwen's chat format, written out by hand: the standard as the system turn, then the user turn
# with the image placeholder and the question, then the assistant's turn, where the digit follows.
QWEN_USER_TURN = (
    '<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>' + QUESTION_7 + '<|im_end|>\n<|im_start|>assistant\n'
)
QWEN_PROMPT = '<|im_start|>system\n' + WORD_7_STANDARD + '<|im_end|>\n' + QWEN_USER_TURN
# The id of "1" in each family's vocabulary ("1".."9" are consecutive): shared/model_files/README.md.
FIRST_DIGIT_ID = {'qwen2_5_vl': 16, 'qwen2_vl': 16, 'qwen3_vl': 16, 'smolvlm': 33}
# Files of the project's model-files folder that are not the hub's bytes at the pinned revision
# (docs/backbone-files.md says why); every other file is.
NOT_THE_HUB_BYTES = {
    ('qwen2_5_vl', 'config.json'),
    ('qwen2_5_vl', 'tokenizer_config.json'),
    ('qwen2_5_vl', 'merges.txt'),
    ('qwen2_vl', 'merges.txt'),
}


def _in_ci() -> bool:
    return os.environ.get('CI', '').lower() in ('1', 'true', 'yes')


def _files_or_skip(fetch_into, online):
    """The real files: the model-files folder, else the hub's at the pinned revisions; skipped
    without both, but failed under CI, which has the folder beside the checkout."""
    if _in_ci() and real_config_models.model_files_dir() is None:
        pytest.fail('CI=true and no model-files folder: .ci/run sets LLMIQA_MODEL_FILES to ../shared/model_files')
    try:
        return find_model_files(fetch_into, online)
    except ModelFilesUnavailable as error:
        pytest.skip(str(error))


@pytest.fixture(scope='module')
def files(tmp_path_factory, hub_downloads_allowed):
    return _files_or_skip(tmp_path_factory.mktemp('hub_files'), hub_downloads_allowed)


@pytest.fixture(scope='module')
def folders(files, tmp_path_factory):
    root = tmp_path_factory.mktemp('real_config')
    return {
        family: str(build_real_config_model(family, root / family, files=files, digit_answers=True))
        for family in REAL_FAMILIES
    }


@pytest.fixture(scope='module')
def crops():
    rng = np.random.default_rng(11)
    return [Image.fromarray(rng.integers(0, 256, (56 + 12 * i, 96 - 10 * i, 3), dtype=np.uint8)) for i in range(2)]


def _metric(folder, preset='llmiqa_global', **options):
    return pyiqa.create_metric(preset, backbone=folder, device='cpu', **options)


def _file_bytes(files, family, name):
    """A file of a model-files folder, decompressed where the folder keeps it as ``.xz``."""
    path = pathlib.Path(files) / family / name
    return path.read_bytes() if path.is_file() else lzma.decompress(path.with_name(name + '.xz').read_bytes())


def _real_file(files, family, name):
    return json.loads(_file_bytes(files, family, name))


def _render(template, messages):
    return jinja2.Environment().from_string(template).render(messages=messages, add_generation_prompt=True)


def _vocabulary(folder):
    """token -> id from the tokenizer files alone: vocab.json or tokenizer.json, plus added tokens."""
    folder = pathlib.Path(folder)
    if (folder / 'tokenizer.json').is_file():
        vocab = dict(json.loads((folder / 'tokenizer.json').read_text())['model']['vocab'])
    else:
        vocab = json.loads((folder / 'vocab.json').read_text())
    added = json.loads((folder / 'tokenizer_config.json').read_text()).get('added_tokens_decoder', {})
    vocab.update({entry['content']: int(index) for index, entry in added.items()})
    return vocab


def test_a_family_without_real_files_is_refused_by_name(tmp_path):
    families = 'qwen2_5_vl, qwen2_vl, qwen3_vl, smolvlm'
    with pytest.raises(ValueError, match=f"no real files for 'gemma3'; families with real files: {families}"):
        build_real_config_model('gemma3', tmp_path / 'out')


def test_a_missing_files_folder_says_how_to_give_one(tmp_path):
    with pytest.raises(FileNotFoundError, match='set LLMIQA_MODEL_FILES'):
        build_real_config_model('qwen2_5_vl', tmp_path / 'out', files=tmp_path / 'empty')


# ---------------------------------------------------------------------------------------------
# Where the files come from: the folder (CI), the hub at pinned revisions, or a skip that says how
# ---------------------------------------------------------------------------------------------


def _hub_cache_path(cache, repo_id, revision, name):
    """Where huggingface_hub keeps a repository's file at a commit."""
    return pathlib.Path(cache) / ('models--' + repo_id.replace('/', '--')) / 'snapshots' / revision / name


def test_ci_sets_the_model_files_folder_beside_the_checkout():
    script = (ROOT / '.ci' / 'run').read_text()
    setting = 'export LLMIQA_MODEL_FILES="$PWD/../shared/model_files"'
    assert setting in script and script.index(setting) < script.index('python -m pytest')
    assert script.index('cd "$(dirname "$0")/.."') < script.index(setting)  # $PWD is the checkout


def test_under_ci_no_model_files_folder_fails_instead_of_skipping(tmp_path, monkeypatch):
    monkeypatch.setenv('CI', 'true')
    monkeypatch.setattr(real_config_models, 'model_files_dir', lambda: None)  # no shared/ beside the checkout
    with pytest.raises(pytest.fail.Exception, match='LLMIQA_MODEL_FILES to ../shared/model_files'):
        _files_or_skip(tmp_path / 'fetched', online=True)


def test_a_model_files_setting_that_is_no_folder_fails(tmp_path, monkeypatch):
    """As in CI when ../shared is missing: LLMIQA_MODEL_FILES names a folder that is not there."""
    monkeypatch.setenv('LLMIQA_MODEL_FILES', str(tmp_path / 'missing'))
    with pytest.raises(FileNotFoundError, match='LLMIQA_MODEL_FILES is .*missing.*, which is not a folder'):
        _files_or_skip(tmp_path / 'fetched', online=True)


@pytest.mark.parametrize(
    'online, why', [(False, 'downloads are off: HF_HUB_OFFLINE=1'), (True, 'https://huggingface.co: gaierror: test')]
)
def test_offline_without_files_the_tests_skip_with_one_reason_naming_both_ways(online, why, tmp_path, monkeypatch):
    import huggingface_hub
    from huggingface_hub import constants

    def no_download(*args, **kwargs):
        raise AssertionError('nothing may be downloaded here')

    monkeypatch.delenv('CI', raising=False)
    monkeypatch.setattr(real_config_models, 'model_files_dir', lambda: None)
    monkeypatch.setattr(constants, 'HF_HUB_CACHE', str(tmp_path / 'empty_cache'))
    monkeypatch.setattr(preflight, 'hub_unreachable_reason', lambda: 'https://huggingface.co: gaierror: test')
    monkeypatch.setattr(huggingface_hub, 'hf_hub_download', no_download)
    with pytest.raises(pytest.skip.Exception) as skipped:
        _files_or_skip(tmp_path / 'fetched', online)
    files = sum(len(hub.files) for hub in HUB_FILES.values())
    assert str(skipped.value) == (
        f'no model-files folder, and {files} of the {files} published files are not in the hub cache and '
        f'cannot be downloaded ({why}): set LLMIQA_MODEL_FILES to a model-files folder (the project keeps '
        'one at shared/model_files), or run where the Hugging Face hub is reachable, without '
        'HF_HUB_OFFLINE=1, so that the published non-weight files (configs, tokenizers, chat templates, '
        'processor configs) are downloaded at pinned revisions into the hub cache'
    )


def test_the_hub_fetch_asks_for_the_folders_files_by_name_at_the_pinned_revisions(files, tmp_path, monkeypatch):
    """A fake hub that serves the model-files folder's files: each file of each family is asked for
    once, by name, at its pinned commit (no weights), and lands in a folder laid out as that one;
    a second fetch, offline, takes them from the hub cache and asks for nothing."""
    import huggingface_hub
    from huggingface_hub import constants

    cache = tmp_path / 'hub_cache'
    family_of = {hub.repo_id: family for family, hub in HUB_FILES.items()}
    asked = []

    def fake_download(repo_id, filename, *, revision, **options):
        assert not options and not constants.is_offline_mode()  # downloads on, for these calls only
        asked.append((repo_id, revision, filename))
        path = _hub_cache_path(cache, repo_id, revision, filename)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_file_bytes(files, family_of[repo_id], filename))
        return str(path)

    monkeypatch.setattr(constants, 'HF_HUB_CACHE', str(cache))
    monkeypatch.setattr(preflight, 'hub_unreachable_reason', lambda: None)  # the hub answers
    monkeypatch.setattr(huggingface_hub, 'hf_hub_download', fake_download)
    fetched = fetch_model_files(tmp_path / 'fetched', online=True)
    assert constants.is_offline_mode()  # the suite's setting is back

    assert set(HUB_FILES) == set(REAL_FAMILIES)
    expected = {
        (HUB_FILES[family].repo_id, HUB_FILES[family].revision, name.removesuffix('.xz'))
        for family in REAL_FAMILIES
        for name in os.listdir(pathlib.Path(files) / family)
    }
    assert len(asked) == len(expected) and set(asked) == expected
    assert not [name for *_, name in asked if name.endswith(('.safetensors', '.bin', '.pt', '.pth', '.gguf', '.onnx'))]
    for repo_id, _, name in expected:
        family = family_of[repo_id]
        assert (fetched / family / name).read_bytes() == _file_bytes(files, family, name)

    asked.clear()
    again = fetch_model_files(tmp_path / 'again', online=False)
    assert asked == []
    for path in fetched.rglob('*.*'):
        assert (again / path.relative_to(fetched)).read_bytes() == path.read_bytes()

    # the builder and the metric take the fetched folder as they take the model-files folder
    folder = build_real_config_model('qwen3_vl', tmp_path / 'model', files=fetched)
    assert _metric(str(folder)).net.engine.prompt == QWEN_PROMPT


def test_the_files_are_the_hubs_at_the_pinned_revisions_but_where_the_docs_say_otherwise(files):
    """Each file's SHA-256 against the one recorded for the hub file at the pinned revision."""
    differ = {
        (family, name)
        for family, hub in HUB_FILES.items()
        for name, sha256 in hub.files.items()
        if hashlib.sha256(_file_bytes(files, family, name)).hexdigest() != sha256
    }
    assert differ <= NOT_THE_HUB_BYTES


# ---------------------------------------------------------------------------------------------
# The prompt
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize('family', QWEN_FAMILIES)
def test_qwen_prompts_are_qwen_official_format(family, folders):
    assert _metric(folders[family]).net.engine.prompt == QWEN_PROMPT


@pytest.mark.parametrize('family', ['qwen2_5_vl', 'qwen2_vl'])
def test_qwen2_templates_put_the_standard_where_the_default_system_prompt_was(family, files):
    """Qwen2-VL's and Qwen2.5-VL's template writes a default system prompt when no system message is given."""
    template = _real_file(files, family, 'chat_template.json')['chat_template']
    user = {'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': QUESTION_7}]}
    plain = _render(template, [user])
    assert plain == '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' + QWEN_USER_TURN
    system = {'role': 'system', 'content': [{'type': 'text', 'text': WORD_7_STANDARD}]}
    assert _render(template, [system, user]) == QWEN_PROMPT


def test_qwen3_template_writes_no_default_system_turn(files, folders):
    template = _real_file(files, 'qwen3_vl', 'chat_template.json')['chat_template']
    user = {'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': QUESTION_7}]}
    assert _render(template, [user]) == QWEN_USER_TURN
    system = {'role': 'system', 'content': [{'type': 'text', 'text': WORD_7_STANDARD}]}
    assert _render(template, [system, user]) == QWEN_PROMPT


def test_smolvlm_prompt_is_its_real_template_then_the_space_it_writes(files, folders):
    template = _real_file(files, 'smolvlm', 'chat_template.json')['chat_template']
    messages = [
        {'role': 'system', 'content': [{'type': 'text', 'text': WORD_7_STANDARD}]},
        {'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': QUESTION_7}]},
    ]
    official = _render(template, messages)
    assert official.endswith('<end_of_utterance>\nAssistant:')
    assert official.startswith('<|im_start|>System: ' + WORD_7_STANDARD + '<end_of_utterance>\nUser:<image>')
    # Its pre-tokenizer splits digits off: " 7" is the space token and then "7", so the space the
    # model writes after "Assistant:" goes into the prompt and the next token is the digit.
    tokenizer = json.loads((pathlib.Path(folders['smolvlm']) / 'tokenizer.json').read_text())
    assert {'type': 'Digits', 'individual_digits': True} in tokenizer['pre_tokenizer']['pretokenizers']
    net = _metric(folders['smolvlm']).net
    assert net.engine.prompt == official + ' '
    # the template writes <|im_start|>, its bos token, itself: the processor must not add another
    ids = net.engine.encode([Image.new('RGB', (32, 24))], net.engine.prompt)['input_ids'][0].tolist()
    bos = _vocabulary(folders['smolvlm'])['<|im_start|>']
    assert ids[0] == bos and ids.count(bos) == 1


# ---------------------------------------------------------------------------------------------
# Level tokens and the greedy reading
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize('family', REAL_FAMILIES)
@pytest.mark.parametrize('levels', [5, 7, 9])
def test_level_tokens_are_the_vocabulary_digits(family, levels, folders):
    vocab = _vocabulary(folders[family])
    # Both pre-tokenizers split a digit off what precedes it (Qwen: a regex with \p{N} alone;
    # SmolVLM: Digits(individual_digits)), so " 7" is never one token and only "7" counts.
    expected = [[vocab[str(level)]] for level in range(1, levels + 1)]
    assert expected == [[FIRST_DIGIT_ID[family] + k] for k in range(levels)]
    tokenizer = _metric(folders[family]).net.engine.tokenizer
    assert level_token_ids(tokenizer, levels) == expected
    assert tokenizer.encode(' 7', add_special_tokens=False) == [vocab['Ġ'], vocab['7']]


@pytest.mark.parametrize(
    'family, tokens, config_vocab',
    [('qwen2_5_vl', 151665, 152064), ('qwen2_vl', 151657, 151936), ('qwen3_vl', 151669, 151936)],
)
def test_qwen_special_token_ids_match_the_model_card(family, tokens, config_vocab, files, folders):
    vocab = _vocabulary(folders[family])
    config = _real_file(files, family, 'config.json')
    text = config.get('text_config', config)  # Qwen3-VL nests the language model's settings
    assert len(vocab) == tokens and text['vocab_size'] == config_vocab
    assert vocab['<|image_pad|>'] == config['image_token_id'] == 151655
    assert vocab['<|vision_start|>'] == 151652 and vocab['<|im_start|>'] == 151644
    assert vocab['<|im_end|>'] == text['eos_token_id'] == 151645


def test_smolvlm_special_token_ids_match_the_model_card(files, folders):
    vocab = _vocabulary(folders['smolvlm'])
    config = _real_file(files, 'smolvlm', 'config.json')
    assert len(vocab) == config['vocab_size'] == 49280
    assert vocab['<image>'] == config['image_token_id'] == 49190
    assert vocab['<end_of_utterance>'] == 49279


@pytest.mark.parametrize('family', REAL_FAMILIES)
def test_greedy_reading_is_what_generate_writes(family, folders, crops):
    net = _metric(folders[family]).net
    scores = net(crops)
    vocab = _vocabulary(folders[family])
    level_of = {vocab[str(level)]: level for level in range(1, 8)}
    for crop, score in zip(crops, scores):
        inputs = net.engine.encode([crop], net.engine.prompt)
        written = net.engine.model.generate(**inputs, max_new_tokens=1, do_sample=False)[0, -1].item()
        assert written in level_of, 'the random model should answer a digit here (digit_answers)'
        assert score == level_of[written]


# ---------------------------------------------------------------------------------------------
# Image tokens from the real processor settings
# ---------------------------------------------------------------------------------------------


def _qwen_image_tokens(files, family, width, height, max_pixels=None):
    """Qwen-VL's resize: each side to the nearest multiple of patch x merge; over the pixel maximum,
    both sides scaled down by one factor and rounded down to such multiples; under the minimum,
    scaled up and rounded up; one token per merge x merge patches. Qwen2-VL and Qwen2.5-VL name the
    pixel bounds min_pixels / max_pixels, Qwen3-VL size.shortest_edge / size.longest_edge."""
    settings = _real_file(files, family, 'preprocessor_config.json')
    patch, merge = settings['patch_size'], settings['merge_size']
    if 'size' in settings:
        min_pixels, top = settings['size']['shortest_edge'], settings['size']['longest_edge']
    else:
        min_pixels, top = settings['min_pixels'], settings['max_pixels']
    max_pixels = max_pixels or top
    factor = patch * merge
    w, h = round(width / factor) * factor, round(height / factor) * factor
    if w * h > max_pixels:
        beta = math.sqrt(width * height / max_pixels)
        w, h = math.floor(width / beta / factor) * factor, math.floor(height / beta / factor) * factor
    elif w * h < min_pixels:
        beta = math.sqrt(min_pixels / (width * height))
        w, h = math.ceil(width * beta / factor) * factor, math.ceil(height * beta / factor) * factor
    return (w // patch) * (h // patch) // merge**2


def _smolvlm_image_tokens(files, family, width, height):
    """Idefics3's resize: the longest side to size.longest_edge, then each side up to a multiple of
    max_image_size; one tile per max_image_size square plus the whole image, image_seq_len each."""
    settings = _real_file(files, family, 'preprocessor_config.json')
    per_tile = _real_file(files, family, 'processor_config.json')['image_seq_len']
    config = _real_file(files, family, 'config.json')
    patches = (config['vision_config']['image_size'] // config['vision_config']['patch_size']) ** 2
    assert per_tile == patches // config['scale_factor'] ** 2
    longest, tile = settings['size']['longest_edge'], settings['max_image_size']['longest_edge']
    if width >= height:
        w, h = longest, int(longest * height / width)
    else:
        w, h = int(longest * width / height), longest
    tiles = math.ceil(w / tile) * math.ceil(h / tile)
    return (tiles + (1 if tiles > 1 else 0)) * per_tile


IMAGE_TOKENS = {
    'qwen2_5_vl': _qwen_image_tokens,
    'qwen2_vl': _qwen_image_tokens,
    'qwen3_vl': _qwen_image_tokens,
    'smolvlm': _smolvlm_image_tokens,
}


def test_the_token_counts_written_in_the_docs(files):
    # Qwen2-VL and Qwen2.5-VL: 14 px patches, 2 x 2 merged; 1024x768 -> 1036x756 (74 x 54 patches)
    for family in ('qwen2_5_vl', 'qwen2_vl'):
        assert _qwen_image_tokens(files, family, 1024, 768) == 74 * 54 // 4 == 999
        assert _qwen_image_tokens(files, family, 588, 448) == 336  # SPAQ as pyiqa reads it
        assert _qwen_image_tokens(files, family, 96, 72) == 9  # 84 x 84
    # Qwen3-VL: 16 px patches, 2 x 2 merged; 1024x768 stays (64 x 48 patches); at least 65536 pixels
    assert _qwen_image_tokens(files, 'qwen3_vl', 1024, 768) == 64 * 48 // 4 == 768
    assert _qwen_image_tokens(files, 'qwen3_vl', 588, 448) == 252  # 576x448
    assert _qwen_image_tokens(files, 'qwen3_vl', 96, 72) == 70  # scaled up to 320x224


def _image_tokens_made(backbone, image_token_id, size):
    inputs = backbone.processor(
        text=[backbone.render_prompt(WORD_7_STANDARD, QUESTION_7)],
        images=[[Image.new('RGB', size, (90, 100, 110))]],
        return_tensors='pt',
    )
    return int((inputs['input_ids'] == image_token_id).sum()), inputs


@pytest.mark.parametrize('family', REAL_FAMILIES)
@pytest.mark.parametrize('size', [(1024, 768), (512, 384), (96, 72)])
def test_image_token_count_follows_the_real_processor_settings(family, size, files, folders):
    backbone = _metric(folders[family]).net.engine
    made, _ = _image_tokens_made(backbone, _real_file(files, family, 'config.json')['image_token_id'], size)
    assert made == IMAGE_TOKENS[family](files, family, *size)


def test_qwen3_sees_1024x768_as_48_by_64_patches_of_16_pixels(files, folders):
    backbone = _metric(folders['qwen3_vl']).net.engine
    made, inputs = _image_tokens_made(backbone, 151655, (1024, 768))
    assert inputs['image_grid_thw'].tolist() == [[1, 48, 64]] and made == 768


@pytest.mark.parametrize('family, expected', [('qwen2_5_vl', 234), ('qwen2_vl', 234), ('qwen3_vl', 192)])
def test_max_pixels_bounds_the_qwen_image_tokens(family, expected, files, folders):
    backbone = _metric(folders[family], processor_kwargs={'max_pixels': 256 * 28 * 28}).net.engine
    made, _ = _image_tokens_made(backbone, 151655, (1024, 768))
    assert made == _qwen_image_tokens(files, family, 1024, 768, 256 * 28 * 28) == expected


# ---------------------------------------------------------------------------------------------
# Scoring: both modes, batches, the shared prefix, the presets
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize('family', REAL_FAMILIES)
def test_scores_in_both_modes_and_batches_change_nothing(family, folders, crops):
    greedy = _metric(folders[family]).net(crops)
    assert all(float(s).is_integer() and 1 <= s <= 7 for s in greedy)
    expectation = _metric(folders[family], score_mode='expectation', batch_size=3).net
    batched = expectation(crops)
    assert ((batched >= 1) & (batched <= 7)).all()
    alone = torch.cat([expectation([crop]) for crop in crops])
    assert torch.allclose(batched, alone, atol=1e-4)


@pytest.mark.parametrize('family', REAL_FAMILIES)
def test_shared_prefix_equals_the_plain_forward(family, folders, crops):
    fast = _metric(folders[family], batch_size=3).net
    plain = _metric(folders[family], batch_size=3, share_prefix=False).net.engine
    assert fast.engine.shared_prefix is not None and plain.shared_prefix is None
    fast_logits = run_in_batches(lambda batch: fast.engine.next_token_logits(batch, fast.engine.prompt), crops, 3)
    plain_logits = run_in_batches(lambda batch: plain.next_token_logits(batch, fast.engine.prompt), crops, 3)
    assert torch.allclose(fast_logits, plain_logits, atol=1e-5 * max(1.0, float(plain_logits.abs().max())))


@pytest.mark.parametrize('preset, family', [('llmiqa', 'qwen2_5_vl'), ('llmiqa_small', 'smolvlm')])
def test_preset_scores_with_the_real_files(preset, family, folders):
    image = Image.fromarray(np.random.default_rng(2).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    half = np.zeros((48, 64), dtype=bool)
    half[:, :32] = True
    metric = pyiqa.create_metric(preset, backbone=folders[family], device='cpu', segmenter=lambda _: [half])
    score = metric(torch.from_numpy(np.asarray(image)).permute(2, 0, 1)[None].float() / 255)
    assert 1 <= float(score) <= 7


def test_the_cpu_preset_shows_smolvlm_one_view_of_64_tokens(files, folders):
    """llmiqa_small turns SmolVLM's tiling off: a 512 px view is (512 / 16)^2 patches, merged 4 x 4
    (config scale_factor 4) into 64 tokens, where the published settings give 13 tiles (832)."""
    config = _real_file(files, 'smolvlm', 'config.json')
    patches = (512 // config['vision_config']['patch_size']) ** 2
    expected = patches // config['scale_factor'] ** 2
    backbone = pyiqa.create_metric(
        'llmiqa_small', backbone=folders['smolvlm'], device='cpu', segmenter=lambda _: []
    ).net.engine
    made, _ = _image_tokens_made(backbone, config['image_token_id'], (1024, 768))
    assert expected == 64 and made == expected
