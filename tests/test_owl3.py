"""mPLUG-Owl3: the trust_remote_code refusal, the dispatch, the prompt and logit reading, the loader.

mPLUG-Owl3's own code lives in its hub repository and cannot be fetched here. These tests use
stand-ins written for them: ``StandInProcessor`` and ``StandInModel`` mimic the interface of
Owl3's processor and model (one conversation per processor call, ``<|image|>`` replaced by one
token per tile and written back into the messages, ``media_offset`` in the 240728 form (a tensor
of tile ranges per token) or the 241101 form (a list of image-token positions per row), a causal
model whose tokens see only the tiles ``media_offset`` gives them). The loader is tested on a
stand-in hub folder whose code imports the transformers 4 names that Owl3's code imports.
"""

import json
import sys
import textwrap

import numpy as np
import pyiqa
import pytest
import torch
from PIL import Image
from torch import nn

import pyiqa_llmiqa  # noqa: F401
from pyiqa_llmiqa.config.options import is_owl3
from pyiqa_llmiqa.config.standards import build_standard
from pyiqa_llmiqa.engines import owl3_loading
from pyiqa_llmiqa.engines.batching import run_in_batches
from pyiqa_llmiqa.engines.owl3 import Owl3Engine
from pyiqa_llmiqa.engines.transformers_engine import TransformersEngine
from pyiqa_llmiqa.errors import OptionError
from pyiqa_llmiqa.testing.tiny_models import byte_level_vocab

SPECIALS = ('<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|image|>')


def qwen_tokenizer():
    """A Qwen2 byte-level tokenizer (no merges: every digit is one token) with Owl3's special tokens."""
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    tokenizer = Qwen2Tokenizer(
        vocab=byte_level_vocab(), merges=[], unk_token=None, eos_token='<|im_end|>', pad_token='<|endoftext|>'
    )
    tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    return tokenizer


class StandInProcessor:
    """Owl3's processor call: chat text of one conversation, one ``<|image|>`` per tile."""

    def __init__(self, tokenizer, offset_form):
        self.tokenizer, self.offset_form, self.received = tokenizer, offset_form, []

    def __call__(self, messages, images=None, videos=None, cut_enable=True):
        self.received.append([dict(m) for m in messages])
        (image,) = images
        tiles = [image.resize((4, 4))] * (1 + (image.width > image.height and cut_enable))
        text = ''
        for message in messages:
            message['content'] = message['content'].replace('<|image|>', '<|image|>' * len(tiles))  # as Owl3 does
            if message['role'] == 'assistant':
                text += '\n<|im_start|>assistant\n'  # the answer is not written: inference mode
            else:
                sep = '\n' if message['role'] == 'user' else ''
                text += f'{sep}<|im_start|>{message["role"]}\n{message["content"]}<|im_end|>'
        ids = torch.tensor([self.tokenizer(text)['input_ids']])
        starts = (ids[0] == self.tokenizer.convert_tokens_to_ids('<|image|>')).nonzero()[:, 0]
        if self.offset_form == '240728':  # per token: [first, end) of the tiles it may see
            seen = (torch.arange(ids.shape[1])[:, None] > starts[None]).sum(1)
            offset = torch.stack([torch.zeros_like(seen), seen], -1)[None]
        else:  # 241101: the positions of the image tokens
            offset = [starts]
        pixels = torch.stack([torch.from_numpy(np.asarray(t, dtype=np.float32)).permute(2, 0, 1) / 255 for t in tiles])
        return {'input_ids': ids, 'media_offset': offset, 'pixel_values': pixels}


class StandInModel(nn.Module):
    """A causal model over tokens and the tiles each token may see, as ``media_offset`` says."""

    def __init__(self, vocab_size, offset_form):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.embed = nn.Parameter(torch.randn(vocab_size, 8, generator=generator))
        self.head = nn.Parameter(torch.randn(8, vocab_size, generator=generator))
        self.pixel = nn.Parameter(torch.randn(3, 8, generator=generator))
        self.offset_form = offset_form

    def init_processor(self, tokenizer):
        return StandInProcessor(tokenizer, self.offset_form)

    def forward(self, pixel_values, input_ids, media_offset, use_cache):
        tiles = pixel_values.mean((2, 3)) @ self.pixel  # (tiles, 8)
        hidden = self.embed[input_ids].cumsum(1)  # token t sees tokens 0..t
        first_tile = 0
        for row in range(len(input_ids)):
            for t in range(input_ids.shape[1]):
                if self.offset_form == '240728':
                    low, high = media_offset[row, t].tolist()
                else:
                    positions = media_offset[row]
                    low, high = first_tile, first_tile + int((positions <= t).sum())
                hidden[row, t] += tiles[low:high].sum(0)
            if self.offset_form == '241101':
                first_tile += len(media_offset[row])
        return type('Output', (), {'logits': hidden @ self.head})()


def stand_in_loader(offset_form):
    def load(name, dtype, attn_implementation='sdpa'):
        tokenizer = qwen_tokenizer()
        return StandInModel(len(tokenizer), offset_form).to(dtype), tokenizer

    return load


@pytest.fixture
def images():
    rng = np.random.default_rng(3)
    sizes = [(40, 64), (64, 40), (30, 30), (90, 20), (50, 90)]  # 2, 1, 1, 1, 2 tiles
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in sizes]


@pytest.fixture(autouse=True)
def files_in_the_cache(monkeypatch):
    """The stand-in loader needs no file: the checks before loading find them all in the cache."""
    from pyiqa_llmiqa.metric import preflight

    monkeypatch.setattr(preflight, '_cached', lambda repo, filename: True)


def test_owl3_refuses_without_trust_remote_code_before_any_download(monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError('nothing may be downloaded or loaded before the refusal')

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, 'snapshot_download', no_download)
    monkeypatch.setattr(huggingface_hub, 'hf_hub_download', no_download)
    monkeypatch.setattr(owl3_loading, 'load_owl3', no_download)
    with pytest.raises(OptionError) as refusal:
        pyiqa.create_metric('llmiqa_owl3', device='cpu')
    message = str(refusal.value)
    for needed in (
        "'mPLUG/mPLUG-Owl3-7B-240728'",
        'trust_remote_code=True',
        '--opt trust_remote_code=true',
        "model's hub repository",
    ):
        assert needed in message


@pytest.mark.parametrize(
    'options, word',
    [({'quantization': '4bit'}, 'quantization'), ({'model_kwargs': {'device_map': 'auto'}}, 'model_kwargs')],
)
def test_owl3_refuses_what_its_loader_cannot_do(monkeypatch, options, word):
    monkeypatch.setattr(owl3_loading, 'load_owl3', stand_in_loader('240728'))
    with pytest.raises(OptionError, match=word):
        pyiqa.create_metric('llmiqa_owl3', trust_remote_code=True, device='cpu', **options)


def test_dispatch_by_name_and_by_config(tmp_path):
    assert is_owl3('mPLUG/mPLUG-Owl3-7B-241101') and is_owl3('mPLUG/mPLUG-Owl3-7B-240728')
    assert not is_owl3('Qwen/Qwen2.5-VL-7B-Instruct')
    (tmp_path / 'owl').mkdir()
    (tmp_path / 'owl' / 'config.json').write_text(json.dumps({'model_type': 'mplugowl3'}))
    (tmp_path / 'qwen').mkdir()
    (tmp_path / 'qwen' / 'config.json').write_text(json.dumps({'model_type': 'qwen2_5_vl'}))
    assert is_owl3(str(tmp_path / 'owl')) and not is_owl3(str(tmp_path / 'qwen'))


def test_the_metric_builds_the_owl3_backbone(monkeypatch, tiny_backbone):
    monkeypatch.setattr(owl3_loading, 'load_owl3', stand_in_loader('240728'))
    owl = pyiqa.create_metric('llmiqa_owl3', trust_remote_code=True, mix_grained=False, device='cpu')
    assert isinstance(owl.net.engine, Owl3Engine)
    other = pyiqa.create_metric('llmiqa_global', backbone=tiny_backbone, device='cpu')
    assert isinstance(other.net.engine, TransformersEngine)


@pytest.mark.parametrize('offset_form', ['240728', '241101'])
def test_prompt_messages_and_logits_at_the_answer_position(monkeypatch, images, offset_form):
    monkeypatch.setattr(owl3_loading, 'load_owl3', stand_in_loader(offset_form))
    metric = pyiqa.create_metric(
        'llmiqa_owl3', trust_remote_code=True, mix_grained=False, device='cpu', score_mode='expectation'
    )
    backbone, prompt = metric.net.engine, metric.net.engine.prompt
    standard = build_standard('word', 7)
    expected = [
        {'role': 'system', 'content': standard.system_prompt},
        {'role': 'user', 'content': '<|image|>\n' + standard.question},
        {'role': 'assistant', 'content': ''},
    ]
    batched = run_in_batches(lambda batch: backbone.next_token_logits(batch, prompt), images, 4)
    # every call got the conversation as written, although the processor rewrites what it gets
    assert all(received == expected for received in backbone.processor.received)
    # the reference: each image alone, the last position of its own sequence (what generate reads first)
    alone, lengths = [], set()
    for image in images:
        inputs = backbone.processor([dict(m) for m in expected], images=[image])
        alone.append(backbone.model(use_cache=False, **inputs).logits[0, -1])
        lengths.add(inputs['input_ids'].shape[1])
    assert len(lengths) > 1  # the batch needed padding
    assert torch.allclose(batched, torch.stack(alone), atol=1e-4)
    pixels = torch.stack([torch.from_numpy(np.array(i.resize((32, 32)))).permute(2, 0, 1) / 255 for i in images])
    scores = metric(pixels)
    assert ((scores >= 1) & (scores <= 7)).all()


def test_processor_kwargs_reach_the_processor(monkeypatch, images):
    monkeypatch.setattr(owl3_loading, 'load_owl3', stand_in_loader('240728'))
    net = pyiqa.create_metric(
        'llmiqa_owl3', trust_remote_code=True, mix_grained=False, device='cpu', processor_kwargs={'cut_enable': False}
    ).net
    input_ids, pixel_values, _, _ = net.engine.encode(images, net.engine.prompt)
    assert len(pixel_values) == len(images)  # one tile each


STAND_IN_CONFIG = """
from transformers import PretrainedConfig

class StandInConfig(PretrainedConfig):
    model_type = 'mplugowl3'
"""

STAND_IN_MODEL = """
import torch
from torch import nn
from transformers.modeling_attn_mask_utils import _prepare_4d_causal_attention_mask_for_sdpa
from transformers.models.siglip.modeling_siglip import SiglipVisionTransformer

class StandInModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.padding_idx = config.pad_token_id
        self.attn = config._attn_implementation
        self.linear = nn.Linear(3, 2)
        self.register_buffer('scale', torch.ones(2))
        self.inv_freq = 1.0 / 10000 ** (torch.arange(0, 4, 2).float() / 4)  # a plain tensor, as Owl3 keeps
        self.mask = _prepare_4d_causal_attention_mask_for_sdpa
        self.vision_class = SiglipVisionTransformer
"""


@pytest.fixture
def stand_in_hub_folder(tmp_path):
    from safetensors.torch import save_file

    folder = tmp_path / 'owl3-stand-in'
    folder.mkdir()
    (folder / 'configuration_standin.py').write_text(textwrap.dedent(STAND_IN_CONFIG))
    (folder / 'modeling_standin.py').write_text(textwrap.dedent(STAND_IN_MODEL))
    (folder / 'config.json').write_text(
        json.dumps(
            {
                'model_type': 'mplugowl3',
                'auto_map': {
                    'AutoConfig': 'configuration_standin.StandInConfig',
                    'AutoModel': 'modeling_standin.StandInModel',
                },
            }
        )
    )
    weights = {
        'linear.weight': torch.arange(6.0).reshape(2, 3),
        'linear.bias': torch.tensor([1.0, -1.0]),
        'scale': torch.tensor([2.0, 3.0]),
    }
    save_file(weights, str(folder / 'model.safetensors'))
    qwen_tokenizer().save_pretrained(folder)
    return folder, weights


def test_loader_runs_transformers_4_code_and_reads_every_weight(stand_in_hub_folder):
    folder, weights = stand_in_hub_folder
    model, tokenizer = owl3_loading.load_owl3(str(folder), torch.bfloat16)
    assert model.padding_idx is None and model.attn == 'sdpa' and not model.training
    assert model.linear.weight.dtype == torch.bfloat16 and model.inv_freq.device.type == 'cpu'
    assert torch.equal(model.linear.weight.float(), weights['linear.weight'])
    assert torch.equal(model.scale.float(), weights['scale'])
    assert tokenizer.convert_tokens_to_ids('<|image|>') is not None
    # the transformers 4 names exist only while the hub code is imported
    import transformers.models.siglip.modeling_siglip as siglip

    assert 'transformers.modeling_attn_mask_utils' not in sys.modules
    assert not hasattr(siglip, 'SiglipVisionTransformer')
    assert model.vision_class is siglip.SiglipVisionModel


def test_loader_refuses_weights_that_do_not_fit(stand_in_hub_folder):
    from safetensors.torch import save_file

    folder, weights = stand_in_hub_folder
    save_file({k: v for k, v in weights.items() if k != 'scale'}, str(folder / 'model.safetensors'))
    with pytest.raises(ValueError, match='missing'):
        owl3_loading.load_owl3(str(folder), torch.float32)


def test_transformers_4_masks():
    embeds = torch.zeros(2, 4, 8)
    assert owl3_loading._causal_mask_for_sdpa(None, (2, 4), embeds, 0, sliding_window=131072) is None
    padding = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    mask = owl3_loading._causal_mask_for_sdpa(padding, (2, 4), embeds, 0, sliding_window=131072)
    allowed = mask == 0
    causal = torch.ones(4, 4, dtype=torch.bool).tril()
    assert torch.equal(allowed[1, 0], causal)
    assert torch.equal(allowed[0, 0], causal & padding[0].bool())
    windowed = owl3_loading._causal_mask(None, (1, 4), embeds, 0, sliding_window=2) == 0
    assert windowed[0, 0].sum(1).tolist() == [1, 2, 3, 3]  # transformers 4 lets a token see window + 1
    assert owl3_loading._padding_mask(padding, torch.float32)[0, 0, 2].tolist()[-1] == torch.finfo(torch.float32).min
