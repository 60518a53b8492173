"""The real models' published non-weight files, from the Hugging Face hub at pinned revisions.

Where the project's model-files folder is not at hand (a user's clone has no ``shared/``), the
real-file tests and ``real_config_models`` take the same files from the real repositories: each file
is asked for by name at a fixed commit (never a weight file), lands in the hub cache, and is copied
into a folder laid out like the model-files folder, one sub-folder per family. The revisions and
the SHA-256 of each file at its revision come from public manifests (docs/backbone-files.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
import shutil
from typing import Dict, Optional

from pyiqa_llmiqa.errors import LLMIQAError

__all__ = ['HUB_FILES', 'HubFiles', 'ModelFilesUnavailable', 'fetch_model_files']

HOW_TO_GET_THEM = (
    'set LLMIQA_MODEL_FILES to a model-files folder (the project keeps one at shared/model_files), or '
    'run where the Hugging Face hub is reachable, without HF_HUB_OFFLINE=1, so that the published '
    'non-weight files (configs, tokenizers, chat templates, processor configs) are downloaded at '
    'pinned revisions into the hub cache'
)


class ModelFilesUnavailable(LLMIQAError, RuntimeError):
    """The real files are in no model-files folder, not in the hub cache, and cannot be downloaded."""


@dataclasses.dataclass(frozen=True)
class HubFiles:
    """One family's hub repository, the commit pinned, and its files: name -> SHA-256 at that commit."""

    repo_id: str
    revision: str
    files: Dict[str, str]


# The names are those of the model-files folder's family sub-folders (without `.xz`).
HUB_FILES: Dict[str, HubFiles] = {
    'qwen2_5_vl': HubFiles(
        'Qwen/Qwen2.5-VL-7B-Instruct',
        'cc594898137f460bfe9f0759e9844b3ce807cfb5',
        {
            'chat_template.json': 'ad60d90252ed0b0705ba14e2d0ad0fec0beac1ea955642b54059b36052d8bc96',
            'config.json': '77d9ec7321cc572e3579e2c84799c9cadaded63c49ce93b101733349fc330c43',
            'merges.txt': '599bab54075088774b1733fde865d5bd747cbcc7a547c5bc12610e874e26f5e3',
            'preprocessor_config.json': 'f2058c716eef96ccaed1cc1e2d0c08306b62586d535b28d9d08e691b2fab7ca0',
            'tokenizer_config.json': '4abd3520120e266da84c0864fee064d1fb10806f02225911a47253dd38dc5f56',
            'vocab.json': 'ca10d7e9fb3ed18575dd1e277a2579c16d108e32f27439684afa0e10b1440910',
        },
    ),
    'qwen2_vl': HubFiles(
        'Qwen/Qwen2-VL-2B-Instruct',
        '895c3a49bc3fa70a340399125c650a463535e71c',
        {
            'chat_template.json': 'ad60d90252ed0b0705ba14e2d0ad0fec0beac1ea955642b54059b36052d8bc96',
            'config.json': '422adefa19e62dd175961cec85bc0400344fe5bf9b22bd1182e05aaae78556e0',
            'merges.txt': '599bab54075088774b1733fde865d5bd747cbcc7a547c5bc12610e874e26f5e3',
            'preprocessor_config.json': 'b5eaad0c2815f07631535dcc58f3c462b0d73693638ad21d19f3c50820eae1cc',
            'tokenizer_config.json': 'ff5c4fd898fe8c39591eb70e5d39d2782802d4204d6ae9ba1223252f354842a0',
            'vocab.json': 'ca10d7e9fb3ed18575dd1e277a2579c16d108e32f27439684afa0e10b1440910',
        },
    ),
    'qwen3_vl': HubFiles(
        'Qwen/Qwen3-VL-4B-Instruct',
        'ebb281ec70b05090aa6165b016eac8ec08e71b17',
        {
            'chat_template.json': '6f8a6a55027e3da5160105556cda5dd69f6423f1c32645f6730d32de7773d0c4',
            'config.json': 'edac7703329133edfc53e46ac0081835144c99d7eebf28b71c732694d435224d',
            'generation_config.json': '8469742d1fce0de951c8909b26a2c0c0d8490837ce476efb114da9e0cefc4d44',
            'merges.txt': '599bab54075088774b1733fde865d5bd747cbcc7a547c5bc12610e874e26f5e3',
            'preprocessor_config.json': '27225450ac9c6529872ee1924fcb0962ff5634834f817040f444118116f4e516',
            'tokenizer_config.json': 'c2da771801886ad9ae98181793ffd3dfb7f1af30f6f7c6a4e15d7dbba52e2399',
            'video_preprocessor_config.json': '7768af27c1fafa9cc9011c1dc20067e03f8915e03b63504550e11d5066986d13',
            'vocab.json': 'ca10d7e9fb3ed18575dd1e277a2579c16d108e32f27439684afa0e10b1440910',
        },
    ),
    'smolvlm': HubFiles(
        'HuggingFaceTB/SmolVLM-256M-Instruct',
        '7e3e67edbbed1bf9888184d9df282b700a323964',
        {
            'added_tokens.json': '74135b8664b56088c0006f1c8e848d79a8eba003411f72ebf1dc2ee96227be3a',
            'chat_template.json': 'a68ad1a42681ae44eacd109ff8dd56a840f761c03d72f4ff4c515d092f882168',
            'config.json': 'b70fb4bfde88df9eeebc9d8ff523733b8bf70d6c9b06c610325960e06ae9db52',
            'generation_config.json': '067a2a54e5f87162ecac6e0e911cc4665fc8f7f3324794ecbac0f76badb56636',
            'merges.txt': '0b54e8aa4e53d5383e2e4bc635a56b43f9647f7b13832d5d9ecd8f82dac4f510',
            'preprocessor_config.json': '6cb6e36d6fcb88ca1502c4a26750715dc3e7dedddc9a8f17b27d8d167d1457e7',
            'processor_config.json': 'e7bff42da73ae9eec9042ef20e066e11f1ee20f025358ff79131e3c0fb549b46',
            'special_tokens_map.json': 'aa0ff906077086dfa9734a7f97f68c825877a48f9468807be65504495cdeef09',
            'tokenizer.json': '5ece781dc8d2b2f3e2f289ca0ae50b17cfc27dd27bfe7971bb8241e0b964331a',
            'tokenizer_config.json': '36c6fd44d07d10fd8180ee6b46dcccf69fb7c06753968ff0d7e17b8bfe17b777',
            'vocab.json': '82b84012e3add4d01d12ba14442026e49b8cbbaead1f79ecf3d919784f82dc79',
        },
    ),
}


@contextlib.contextmanager
def _downloads_on():
    """huggingface_hub downloading for these calls only (the test suite turns downloads off for all others)."""
    from huggingface_hub import constants

    saved = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = False
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved


def _unavailable(missing: int, total: int, reason: str) -> ModelFilesUnavailable:
    return ModelFilesUnavailable(
        f'no model-files folder, and {missing} of the {total} published files are not in the hub cache '
        f'and cannot be downloaded ({reason}): {HOW_TO_GET_THEM}'
    )


def fetch_model_files(out, online: Optional[bool] = None) -> pathlib.Path:
    """Copy every family's files, at its pinned revision, from the hub cache into ``out/<family>/``.

    Files not in the cache are downloaded when ``online`` (default: huggingface_hub is not in
    offline mode) and the hub answers; otherwise ``ModelFilesUnavailable`` says how to get them.
    """
    from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import LocalEntryNotFoundError

    from pyiqa_llmiqa.metric.preflight import hub_unreachable_reason

    if online is None:
        online = not constants.is_offline_mode()
    wanted = [(family, hub, name) for family, hub in HUB_FILES.items() for name in hub.files]
    found = {}
    for family, hub, name in wanted:
        cached = try_to_load_from_cache(hub.repo_id, name, revision=hub.revision)
        if isinstance(cached, str):
            found[family, name] = cached
    missing = [(family, hub, name) for family, hub, name in wanted if (family, name) not in found]
    if missing:
        reason = hub_unreachable_reason() if online else 'downloads are off: HF_HUB_OFFLINE=1'
        if reason is not None:
            raise _unavailable(len(missing), len(wanted), reason)
        with _downloads_on():
            for family, hub, name in missing:
                try:
                    found[family, name] = hf_hub_download(hub.repo_id, name, revision=hub.revision)
                except LocalEntryNotFoundError as error:  # the connection failed on the way
                    raise _unavailable(len(missing), len(wanted), str(error)) from error
    out = pathlib.Path(out)
    for (family, name), path in found.items():
        (out / family).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out / family / name)
    return out
