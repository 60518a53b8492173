"""Benchmark data sets as pyiqa reads them: a name from pyiqa's defaults, or a dataset options YAML.

The image list (the split, LIVE Challenge's dropped rows, the NR and FR column layouts) comes from
pyiqa's own dataset classes (``pyiqa.data.build_dataset``), with ``phase: test`` unless the options
say otherwise, as pyiqa's benchmark script does. Images are read by
:func:`pyiqa_llmiqa.inputs.images.load_image`; the data set's ``augment`` (e.g. SPAQ's ``resize: 448``) is
applied with pyiqa's transforms. With a data root, each relative path loses its first folder and
goes under the root, as in ``pyiqa.load_dataset``: ``./datasets/SPAQ/TestImage`` -> ``ROOT/SPAQ/TestImage``.
"""

import csv
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import yaml

from pyiqa_llmiqa.bench.meta_info import resolve_image_path
from pyiqa_llmiqa.errors import LLMIQAError

PYIQA_DATA = 'chaofengc/IQA-PyTorch-Datasets'
PYIQA_META_INFO = 'chaofengc/IQA-PyTorch-Datasets-metainfo'
PATH_KEYS = ('dataroot_target', 'dataroot_ref', 'meta_info_file', 'split_file')


class DatasetError(LLMIQAError, ValueError):
    """A data set that cannot be read; says what is missing and where to get it."""


@dataclass(frozen=True)
class Item:
    """One image to score: its name in the meta-info file, its path, and its human score."""

    name: str
    path: Path
    mos: float


@dataclass
class BenchDataset:
    """A data set ready to score: its items, its preprocessing, and the direction of its MOS."""

    name: str
    items: List[Item]
    augment: Dict[str, Any] = field(default_factory=dict)
    mos_lower_better: bool = False
    root: str = ''  # the images' folder: each item's path is root / name

    def transform(self) -> Callable:
        """The data set's ``augment`` transforms (pyiqa's own) as one function on PIL images."""
        from pyiqa.data.transforms import transform_mapping

        steps = [t for key, value in self.augment.items() for t in transform_mapping(key, value)]

        def apply(image):
            for step in steps:
                image = step(image)
            return image

        return apply


def _read_yaml(path: Path) -> Dict[str, Dict[str, Any]]:
    """``{name: options}`` from a YAML of one data set's options or a mapping of several."""
    try:
        content = yaml.safe_load(path.read_text(encoding='utf-8'))
    except (OSError, yaml.YAMLError) as error:
        raise DatasetError(f'{path}: cannot read the dataset options ({error})') from None
    if isinstance(content, dict) and 'type' in content:
        return {content.get('name') or path.stem: content}
    if not isinstance(content, dict) or not all(isinstance(v, dict) and 'type' in v for v in content.values()):
        raise DatasetError(
            f'{path}: expected pyiqa dataset options (a mapping with type, dataroot_target, '
            'meta_info_file), or a mapping of data set names to such options'
        )
    return content


def dataset_options(spec: str) -> Dict[str, Dict[str, Any]]:
    """``{name: pyiqa options}`` for a pyiqa data set name or a YAML file."""
    from pyiqa import get_dataset_info

    if spec.endswith(('.yml', '.yaml')) or os.path.isfile(spec):
        return _read_yaml(Path(spec))
    known = get_dataset_info()
    if spec not in known:
        raise DatasetError(
            f"{spec!r} is neither a dataset options YAML nor one of pyiqa's data sets: "
            f'{", ".join(sorted(known))} (AGIQA-3K: options/agiqa3k.yml)'
        )
    return {spec: dict(known[spec])}


def _under_root(path: str, root: Optional[str]) -> str:
    if root is None or os.path.isabs(path):
        return path
    return str(Path(root).joinpath(*Path(path).parts[1:]))


def download_hint(key: str, options: Dict[str, Any], root: str) -> str:
    """What to download for data set ``key``, and where to put it under the data root ``root``."""
    from pyiqa.data.dataset_api import dataset_download_name

    archive = dataset_download_name.get(key)
    if options.get('download'):
        hint = str(options['download'])
    elif archive is None:
        hint = 'get the data set from its authors and put it where the dataset options say'
    else:
        hint = (
            f'hf download {PYIQA_DATA} {archive} --repo-type dataset --local-dir DATA_ROOT, then extract it '
            f'there; the meta-info CSVs: hf download {PYIQA_META_INFO} --repo-type dataset '
            f"--local-dir DATA_ROOT/meta_info (or python -c \"import pyiqa; pyiqa.load_dataset('{key}', "
            "data_root='DATA_ROOT')\" for both)"
        )
    return hint.replace('DATA_ROOT', root)


def _missing_files(options: Dict[str, Any]) -> bool:
    return not (Path(options['meta_info_file']).exists() and Path(options['dataroot_target']).exists())


def fetch_dataset(key: str, options: Dict[str, Any], root: str) -> None:
    """Download data set ``key`` (its archive, extracted, and pyiqa's meta-info files) under ``root``
    with pyiqa's own ``load_dataset``, which fetches only what is missing."""
    from pyiqa.data.dataset_api import dataset_download_name
    from pyiqa.data.dataset_api import load_dataset as pyiqa_load_dataset

    if key not in dataset_download_name:
        raise DatasetError(
            f'{key}: pyiqa cannot download this data set (it downloads '
            f'{", ".join(sorted(dataset_download_name))}); {download_hint(key, options, root)}'
        )
    print(f'{key}: downloading what is missing under {root} with pyiqa.load_dataset', file=sys.stderr)
    try:
        pyiqa_load_dataset(key, data_root=root, dataset_opts=options)
    except Exception as error:  # the hub, the archive or pyiqa's reader: say which data set and why
        raise DatasetError(
            f'{key}: download failed ({type(error).__name__}: {error}); {download_hint(key, options, root)}'
        ) from None


def _check_files(key: str, options: Dict[str, Any], root: str) -> None:
    """Missing meta-info file, image folder or split column: a ``DatasetError`` that says what to get."""
    meta, images = Path(options['meta_info_file']), Path(options['dataroot_target'])
    for path, what in ((meta, 'meta-info file'), (images, 'image folder')):
        if not path.exists():
            raise DatasetError(f'{key}: {what} {path} not found; {download_hint(key, options, root)}')
    split = options.get('split_index')
    if isinstance(split, str) and not options.get('split_file'):
        with open(meta, newline='', encoding='utf-8-sig') as handle:
            header = next(csv.reader(handle), [])
        if split not in header:
            raise DatasetError(
                f'{key}: {meta} has no split column {split!r} (columns: {", ".join(header)}); '
                f"the split needs pyiqa's own meta-info file: {download_hint(key, options, root)}"
            )


def _name_in_root(path: str, root: str, meta_info_file: str) -> str:
    """The image's name under ``root``; a name in the meta-info file that leads outside is refused."""
    name = Path(os.path.relpath(path, root)).as_posix()
    try:
        resolve_image_path(root, name)
    except ValueError:
        raise DatasetError(
            f'{meta_info_file}: the image {path} lies outside the data root {root}; image names must be '
            'relative paths inside it (no absolute paths, no ..)'
        ) from None
    return name


def load_dataset(
    key: str, options: Dict[str, Any], data_root: Optional[str] = None, download: bool = False
) -> BenchDataset:
    """The test items of one data set, through pyiqa's dataset class named by ``options['type']``;
    with ``download``, a missing pyiqa data set is fetched first (:func:`fetch_dataset`)."""
    from pyiqa.data import build_dataset

    given = options
    options = {'name': key, 'phase': 'test', **options}
    for path_key in PATH_KEYS:
        if options.get(path_key):
            options[path_key] = _under_root(str(options[path_key]), data_root)
    if download and _missing_files(options):
        fetch_dataset(key, given, data_root or './datasets')
    _check_files(key, options, data_root or './datasets')
    try:
        dataset = build_dataset(options)
    except (AssertionError, KeyError, IndexError, ValueError, OSError) as error:
        raise DatasetError(f'{key}: pyiqa cannot read the data set ({type(error).__name__}: {error})') from None
    root = options['dataroot_target']
    meta_info = options['meta_info_file']
    items = [Item(_name_in_root(row[-2], root, meta_info), Path(row[-2]), float(row[-1])) for row in dataset.paths_mos]
    if not items:
        raise DatasetError(f'{key}: no images in the {options["phase"]} split of {options["meta_info_file"]}')
    missing = sum(not item.path.is_file() for item in items)
    if missing == len(items):
        raise DatasetError(
            f'{key}: none of the {len(items)} images is in {root} (the first: {items[0].path}); '
            f'{download_hint(key, options, data_root or "./datasets")}'
        )
    if missing:
        print(
            f'warning: {key}: {missing} of {len(items)} images are missing (or not regular files) under {root}; '
            'they will be recorded as failed',
            file=sys.stderr,
        )
    # pyiqa's mos_normalize already turns a lower-better MOS into a higher-better one.
    lower_better = bool(options.get('lower_better')) and not options.get('mos_normalize')
    return BenchDataset(safe_name(key), items, dict(options.get('augment') or {}), lower_better, str(root))


def safe_name(text: str) -> str:
    """``text`` with anything but letters, digits and ``._+-`` turned into ``_`` (for file names)."""
    return re.sub(r'[^A-Za-z0-9._+-]', '_', text)


def load_datasets(specs: List[str], data_root: Optional[str] = None, download: bool = False) -> List[BenchDataset]:
    """Every data set that ``specs`` (names or YAML files) describe, in order (``download``: fetch missing ones)."""
    datasets = [
        load_dataset(key, options, data_root, download)
        for spec in specs
        for key, options in dataset_options(spec).items()
    ]
    names = [d.name for d in datasets]
    if len(set(names)) != len(names):
        raise DatasetError(f'two data sets share a name: {", ".join(names)}')
    return datasets
