"""Reading pyiqa's meta-info CSV files, and making one for AGIQA-3K.

pyiqa (0.1.16) reads a meta-info CSV with pandas and takes its columns by
position, not by name:

* no-reference data sets (``GeneralNRDataset``: KonIQ-10k, SPAQ, LIVE
  Challenge, ...): column 1 is the image name, column 2 the MOS
  (``img_name,mos,...``);
* full-reference layouts (``GeneralFRDataset``, which pyiqa also uses for
  KADID-10k): column 1 the reference, column 2 the distorted image, column 3
  the score (``ref_name,dist_name,dmos,...``; the ``_withdist`` variant only
  adds a ``dist_type`` column). The distorted image is the one scored.
* LIVE Challenge (``LIVEChallengeDataset``) drops the first 7 rows, the
  data set's training images, as earlier work did.

:func:`read_meta_info` follows the same rules, so it sees the same (name,
score) pairs pyiqa does, and it fails with an error that names the file and
the line instead of pandas' or pyiqa's generic ones. The first line is always
a header.

AGIQA-3K is not among pyiqa's data sets; :func:`convert_agiqa` turns its
published ``data.csv`` into an NR meta-info CSV (``name,mos``).
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path, PureWindowsPath
from typing import List, Tuple, Union

from pyiqa_llmiqa.errors import LLMIQAError

__all__ = [
    'MetaInfoError',
    'LIVEC_TRAIN_ROWS',
    'dataset_name',
    'read_meta_info',
    'convert_agiqa',
    'resolve_image_path',
]

PathLike = Union[str, 'os.PathLike[str]']

#: Rows pyiqa's LIVEChallengeDataset drops from the top of the meta-info file.
LIVEC_TRAIN_ROWS = 7

AGIQA_NAME_COLUMN = 'name'
AGIQA_SCORE_COLUMN = 'mos_quality'


class MetaInfoError(LLMIQAError, ValueError):
    """A meta-info (or AGIQA-3K data) CSV that cannot be read; names the file."""


def dataset_name(csv_path: PathLike) -> str:
    """A data-set name from a meta-info file name.

    ``meta_info_SPAQDataset.csv`` -> ``SPAQ``,
    ``meta_info_KADID10kDataset_withdist.csv`` -> ``KADID10k``,
    ``AGIQA-3K_data.csv`` / ``meta_info_AGIQA-3K.csv`` -> ``AGIQA-3K``;
    any other file gives its stem.
    """
    stem = Path(csv_path).stem
    name = stem
    if name.startswith('meta_info_'):
        name = name[len('meta_info_') :]
    idx = name.find('Dataset')
    if idx > 0:
        name = name[:idx]
    if name.endswith('_data') and len(name) > len('_data'):
        name = name[: -len('_data')]
    return name or stem


def _open_rows(path: Path):
    try:
        handle = open(path, newline='', encoding='utf-8-sig')
    except FileNotFoundError:
        raise MetaInfoError(f'{path}: no such file') from None
    except IsADirectoryError:
        raise MetaInfoError(f'{path}: is a directory, not a CSV file') from None
    except OSError as exc:
        raise MetaInfoError(f'{path}: cannot open ({exc.strerror or exc})') from None
    return handle


def _parse_score(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise MetaInfoError(f'{path}, line {line}: MOS {text!r} in column {column!r} is not a number') from None
    if not math.isfinite(value):
        raise MetaInfoError(f'{path}, line {line}: MOS {text!r} in column {column!r} is not a finite number')
    return value


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_meta_info(csv_path: PathLike, pyiqa_subset: bool = True) -> List[Tuple[str, float]]:
    """``[(image name, MOS), ...]`` from a pyiqa meta-info CSV, in file order.

    Columns are taken the way pyiqa takes them (see the module doc): an NR
    file gives (column 1, column 2); a file whose header starts
    ``ref_name,dist_name`` (KADID-10k) gives (column 2, column 3). With
    ``pyiqa_subset`` (default) a LIVE Challenge file (``LIVEChallenge`` in
    its name) loses its first 7 rows, as in pyiqa's ``LIVEChallengeDataset``.
    Blank lines are skipped.

    Raises :class:`MetaInfoError` (a ``ValueError``) naming the file and the
    problem: missing file, no header, missing columns, a row too short, an
    empty image name, or a MOS that is not a finite number (with its line).
    """
    path = Path(csv_path)
    with _open_rows(path) as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            while header is not None and not any(c.strip() for c in header):
                header = next(reader, None)
            if header is None:
                raise MetaInfoError(f'{path}: the file is empty (expected a header line)')
            header = [c.strip() for c in header]
            fr_layout = len(header) >= 2 and header[0] == 'ref_name' and header[1] == 'dist_name'
            name_idx, score_idx = (1, 2) if fr_layout else (0, 1)
            layout = (
                'full-reference layout (ref_name, dist_name, score)'
                if fr_layout
                else 'no-reference layout (image name, MOS)'
            )
            if len(header) <= score_idx:
                hint = ''
                if len(header) == 1 and ';' in header[0]:
                    hint = '; it looks separated by ";" -- pyiqa expects commas'
                raise MetaInfoError(
                    f'{path}: missing column: pyiqa reads the {layout} from columns '
                    f'{name_idx + 1} and {score_idx + 1}, but the header has only '
                    f'{len(header)} column(s): {header}{hint}'
                )
            if _looks_numeric(header[score_idx]):
                raise MetaInfoError(
                    f'{path}: line 1 looks like data, not a header ({header}); pyiqa treats '
                    f'the first line as the header, so the file needs one, e.g. "img_name,mos"'
                )
            score_col = header[score_idx]
            if AGIQA_SCORE_COLUMN in header and score_col != AGIQA_SCORE_COLUMN:
                raise MetaInfoError(
                    f'{path}: missing column: column {score_idx + 1} is {score_col!r}, not a MOS; '
                    f"this looks like AGIQA-3K's data.csv (it has {AGIQA_SCORE_COLUMN!r}), which "
                    f'pyiqa cannot read as it is -- convert it first with convert_agiqa '
                    f'(pyiqa-llmiqa convert-agiqa DATA_CSV OUT_CSV)'
                )
            rows: List[Tuple[str, float]] = []
            for row in reader:
                line = reader.line_num
                if not any(c.strip() for c in row):
                    continue
                if len(row) <= score_idx:
                    raise MetaInfoError(
                        f'{path}, line {line}: missing column: {len(row)} field(s), but the '
                        f'{layout} needs column {score_idx + 1} ({score_col!r})'
                    )
                name = row[name_idx].strip()
                if not name:
                    raise MetaInfoError(f'{path}, line {line}: empty image name in column {header[name_idx]!r}')
                rows.append((name, _parse_score(path, line, score_col, row[score_idx].strip())))
        except csv.Error as exc:
            raise MetaInfoError(f'{path}, line {reader.line_num}: malformed CSV ({exc})') from None
        except UnicodeDecodeError as exc:
            raise MetaInfoError(f'{path}: not UTF-8 text ({exc.reason} at byte {exc.start})') from None
    if not rows:
        raise MetaInfoError(f'{path}: no data rows below the header')
    if pyiqa_subset and 'LIVEChallenge' in path.name:
        rows = rows[LIVEC_TRAIN_ROWS:]
        if not rows:
            raise MetaInfoError(
                f'{path}: no rows left after dropping the first {LIVEC_TRAIN_ROWS} '
                f'(LIVE Challenge training images, as pyiqa does)'
            )
    return rows


def convert_agiqa(data_csv: PathLike, out_csv: PathLike) -> int:
    """Write AGIQA-3K's published ``data.csv`` as a pyiqa NR meta-info CSV.

    Reads the columns ``name`` and ``mos_quality`` (by name; the file also has
    prompt, adjectives, style, std_quality, mos_align, std_align) and writes
    ``name,mos`` with the MOS text kept exactly as published. Returns the
    number of rows written. Raises :class:`MetaInfoError` for a missing
    column, an empty name or a MOS that is not a finite number (with its line),
    or an output path that is the input itself. Nothing is written on error.
    """
    src = Path(data_csv)
    dst = Path(out_csv)
    try:
        same = dst.exists() and os.path.samefile(src, dst)
    except OSError:
        same = False
    if same:
        raise MetaInfoError(f'{dst}: the output would overwrite the input data.csv')
    out_rows: List[Tuple[str, str]] = []
    with _open_rows(src) as handle:
        reader = csv.DictReader(handle)
        try:
            fields = [f.strip() for f in (reader.fieldnames or [])]
            if not fields:
                raise MetaInfoError(f"{src}: the file is empty (expected AGIQA-3K's header)")
            reader.fieldnames = fields
            missing = [c for c in (AGIQA_NAME_COLUMN, AGIQA_SCORE_COLUMN) if c not in fields]
            if missing:
                raise MetaInfoError(
                    f'{src}: missing column(s) {", ".join(repr(c) for c in missing)}; '
                    f"AGIQA-3K's data.csv has {AGIQA_NAME_COLUMN!r} and {AGIQA_SCORE_COLUMN!r}, "
                    f'this file has {fields}'
                )
            for row in reader:
                line = reader.line_num
                if not any((v or '').strip() for k, v in row.items() if k is not None):
                    continue
                name = (row.get(AGIQA_NAME_COLUMN) or '').strip()
                text = (row.get(AGIQA_SCORE_COLUMN) or '').strip()
                if not name:
                    raise MetaInfoError(f'{src}, line {line}: empty image name in column {AGIQA_NAME_COLUMN!r}')
                _parse_score(src, line, AGIQA_SCORE_COLUMN, text)
                out_rows.append((name, text))
        except csv.Error as exc:
            raise MetaInfoError(f'{src}, line {reader.line_num}: malformed CSV ({exc})') from None
        except UnicodeDecodeError as exc:
            raise MetaInfoError(f'{src}: not UTF-8 text ({exc.reason} at byte {exc.start})') from None
    if not out_rows:
        raise MetaInfoError(f'{src}: no data rows below the header')
    with open(dst, 'w', newline='', encoding='utf-8') as out:
        writer = csv.writer(out, lineterminator='\n')
        writer.writerow(['name', 'mos'])
        writer.writerows(out_rows)
    return len(out_rows)


def resolve_image_path(root: PathLike, name: str) -> Path:
    """``root / name``, refusing names that would leave ``root``.

    pyiqa joins names with ``os.path.join``, where an absolute name silently
    replaces the root and ``..`` climbs out of it. This raises ``MetaInfoError`` (a ``ValueError``)
    for an empty name, an absolute path (POSIX ``/x`` or Windows ``C:\\x``,
    ``C:x``, ``\\\\server\\share``), a ``..`` component (with ``/`` or ``\\``
    as separator), or a NUL character. The check is on the name's text;
    symbolic links inside the root are followed as usual.
    """
    if not isinstance(name, str):
        raise MetaInfoError(f'image name must be a string, got {type(name).__name__}')
    if not name.strip():
        raise MetaInfoError('empty image name')
    if '\x00' in name:
        raise MetaInfoError(f'image name {name!r} contains a NUL character')
    # a Windows path reads both / and \ as separators: its root covers POSIX /x and Windows \x, its
    # drive covers C:x, C:\x and \\server\share
    win = PureWindowsPath(name)
    if win.drive or win.root:
        raise MetaInfoError(
            f'image name {name!r} is an absolute path; names in a meta-info file must be '
            f'relative to the data root {str(root)!r}'
        )
    parts = name.replace('\\', '/').split('/')
    if '..' in parts:
        raise MetaInfoError(f'image name {name!r} has a ".." component and would escape the data root {str(root)!r}')
    return Path(root) / name
