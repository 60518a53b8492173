"""Tests for pyiqa_llmiqa.bench.meta_info and the ``convert-agiqa`` subcommand."""

import csv
from pathlib import Path

import pytest

from pyiqa_llmiqa.bench.meta_info import (
    LIVEC_TRAIN_ROWS,
    MetaInfoError,
    convert_agiqa,
    dataset_name,
    read_meta_info,
    resolve_image_path,
)
from pyiqa_llmiqa.cli.commands import convert_agiqa as convert_cmd
from pyiqa_llmiqa.cli.main import build_parser


def write(path, text):
    path.write_text(text, encoding='utf-8')
    return path


# --- read_meta_info on small files --------------------------------------------


def test_nr_layout(tmp_path):
    f = write(
        tmp_path / 'meta_info_KonIQ10kDataset.csv', 'img_name,mos,std,split\n1.jpg,77.38,0.5,0\nsub/2.jpg,68.7,0.58,2\n'
    )
    assert read_meta_info(f) == [('1.jpg', 77.38), ('sub/2.jpg', 68.7)]


def test_nr_layout_is_positional_like_pyiqa(tmp_path):
    # pyiqa takes columns 1 and 2 whatever their names (LIVEC: img_name,mos,std).
    f = write(tmp_path / 'x.csv', 'image,score,std\na.bmp,50.5,3\n')
    assert read_meta_info(f) == [('a.bmp', 50.5)]


def test_kadid_full_reference_layout(tmp_path):
    f = write(
        tmp_path / 'meta_info_KADID10kDataset_withdist.csv',
        'ref_name,dist_name,dmos,std,dist_type\n'
        'I01.png,I01_01_01.png,4.57,0.496,0\nI01.png,I01_01_02.png,4.33,0.869,0\n',
    )
    assert read_meta_info(f) == [('I01_01_01.png', 4.57), ('I01_01_02.png', 4.33)]


def test_livec_drops_the_training_images_like_pyiqa(tmp_path):
    rows = [f't{i}.bmp,{i}' for i in range(1, 8)] + [f'{i}.JPG,{i}' for i in range(100, 110)]
    f = write(
        tmp_path / 'meta_info_LIVEChallengeDataset.csv',
        'img_name,mos,std\n' + '\n'.join(r + ',1.0' for r in rows) + '\n',
    )
    got = read_meta_info(f)
    assert len(got) == 10 and got[0] == ('100.JPG', 100.0)
    assert LIVEC_TRAIN_ROWS == 7
    assert len(read_meta_info(f, pyiqa_subset=False)) == 17


def test_bom_blank_lines_and_spaces(tmp_path):
    f = tmp_path / 'm.csv'
    f.write_bytes('\ufeffimg_name,mos\n a.jpg , 1.5 \n\nb.jpg,2\n\n'.encode('utf-8'))
    assert read_meta_info(f) == [('a.jpg', 1.5), ('b.jpg', 2.0)]


@pytest.mark.parametrize(
    'text, message',
    [
        ('', 'empty'),
        ('img_name,mos\n', 'no data rows'),
        ('img_name\na.jpg\n', 'missing column'),
        ('img_name;mos\na.jpg;1\n', 'separated by ";"'),
        ('ref_name,dist_name\nr.png,d.png\n', 'missing column'),
        ('img_name,mos\na.jpg,1\nb.jpg,good\n', r'line 3: MOS \'good\' in column \'mos\' is not a number'),
        ('img_name,mos\na.jpg,1\nb.jpg,\n', r'line 3: MOS \'\''),
        ('img_name,mos\na.jpg,nan\n', 'line 2: .*not a finite number'),
        ('img_name,mos\na.jpg,1\n\nb.jpg\n', 'line 4: missing column'),
        ('img_name,mos\n,1\n', 'line 2: empty image name'),
        ('a.jpg,1\nb.jpg,2\n', 'looks like data, not a header'),
        ('name,prompt,mos_quality\na.jpg,a cat,2.5\n', 'convert-agiqa'),
    ],
)
def test_errors_name_the_file_and_the_problem(tmp_path, text, message):
    f = write(tmp_path / 'meta_info_BadDataset.csv', text)
    with pytest.raises(MetaInfoError, match=message) as info:
        read_meta_info(f)
    assert str(f) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_file(tmp_path):
    with pytest.raises(MetaInfoError, match='no such file'):
        read_meta_info(tmp_path / 'nope.csv')
    with pytest.raises(MetaInfoError, match='directory'):
        read_meta_info(tmp_path)


def test_not_utf8(tmp_path):
    f = tmp_path / 'm.csv'
    f.write_bytes(b'img_name,mos\n\xff\xfe.jpg,1\n')
    with pytest.raises(MetaInfoError, match='UTF-8'):
        read_meta_info(f)


@pytest.mark.parametrize(
    'path, name',
    [
        ('meta_info_SPAQDataset.csv', 'SPAQ'),
        ('/x/meta_info_KonIQ10kDataset.csv', 'KonIQ10k'),
        ('meta_info_KADID10kDataset_withdist.csv', 'KADID10k'),
        ('meta_info_LIVEChallengeDataset.csv', 'LIVEChallenge'),
        ('AGIQA-3K_data.csv', 'AGIQA-3K'),
        ('meta_info_AGIQA-3K.csv', 'AGIQA-3K'),
        ('scores.csv', 'scores'),
    ],
)
def test_dataset_name(path, name):
    assert dataset_name(path) == name


# --- the real files: same pairs as pyiqa's pandas reading --------------------


@pytest.mark.parametrize(
    'file, rows, name_col, score_col',
    [
        ('meta_info_SPAQDataset.csv', 11125, 0, 1),
        ('meta_info_KonIQ10kDataset.csv', 10073, 0, 1),
        ('meta_info_KADID10kDataset_withdist.csv', 10125, 1, 2),
    ],
)
def test_real_files_match_pyiqas_reading(file, rows, name_col, score_col, mos_file):
    import pandas as pd

    path = mos_file(file)
    got = read_meta_info(path)
    assert len(got) == rows
    values = pd.read_csv(path).values  # what pyiqa's BaseIQADataset reads
    expected = [(str(r[name_col]), float(r[score_col])) for r in values]
    assert got == expected


# --- AGIQA-3K conversion ----------------------------------------------------------


def test_convert_agiqa_on_the_real_file(tmp_path, mos_file):
    src = mos_file('AGIQA-3K_data.csv')
    out = tmp_path / 'meta_info_AGIQA-3K.csv'
    assert convert_agiqa(src, out) == 2982
    lines = out.read_text(encoding='utf-8').splitlines()
    assert lines[0] == 'name,mos'
    assert len(lines) == 2983
    assert lines[1] == 'AttnGAN_normal_000.jpg,0.965602553'
    with open(src, newline='', encoding='utf-8') as handle:
        published = [(r['name'], float(r['mos_quality'])) for r in csv.DictReader(handle)]
    assert read_meta_info(out) == published


def test_convert_agiqa_output_is_what_pyiqa_reads(tmp_path, mos_file):
    import pandas as pd

    out = tmp_path / 'agiqa.csv'
    convert_agiqa(mos_file('AGIQA-3K_data.csv'), out)
    frame = pd.read_csv(out)
    assert list(frame.columns) == ['name', 'mos']
    assert frame.shape == (2982, 2)


def test_convert_agiqa_small(tmp_path):
    src = write(
        tmp_path / 'data.csv',
        'name,prompt,adj1,adj2,style,mos_quality,std_quality,mos_align,std_align\n'
        'a.jpg,"a cat, sitting",,,,1.25,0.2,3,0.1\n'
        'b.jpg,a dog,x,,,2.5,0.2,3,0.1\n',
    )
    out = tmp_path / 'out.csv'
    assert convert_agiqa(src, out) == 2
    assert out.read_text() == 'name,mos\na.jpg,1.25\nb.jpg,2.5\n'


@pytest.mark.parametrize(
    'text, message',
    [
        ('name,prompt,mos_align\na.jpg,x,1\n', "missing column.*'mos_quality'"),
        ('file,mos_quality\na.jpg,1\n', "missing column.*'name'"),
        ('name,mos_quality\na.jpg,1\nb.jpg,bad\n', "line 3: MOS 'bad'"),
        ('name,mos_quality\n,1\n', 'line 2: empty image name'),
        ('name,mos_quality\n', 'no data rows'),
        ('', 'empty'),
    ],
)
def test_convert_agiqa_errors(tmp_path, text, message):
    src = write(tmp_path / 'data.csv', text)
    out = tmp_path / 'out.csv'
    with pytest.raises(MetaInfoError, match=message) as info:
        convert_agiqa(src, out)
    assert str(src) in str(info.value)
    assert not out.exists()


def test_convert_agiqa_refuses_to_overwrite_its_input(tmp_path):
    src = write(tmp_path / 'data.csv', 'name,mos_quality\na.jpg,1\n')
    with pytest.raises(MetaInfoError, match='overwrite the input'):
        convert_agiqa(src, src)
    assert src.read_text() == 'name,mos_quality\na.jpg,1\n'


def test_convert_agiqa_subcommand(tmp_path, capsys):
    src = write(tmp_path / 'data.csv', 'name,mos_quality\na.jpg,1\nb.jpg,2\n')
    out = tmp_path / 'out.csv'
    args = build_parser().parse_args(['convert-agiqa', str(src), str(out)])
    assert args.run is convert_cmd.run
    assert args.run(args) == 0
    assert 'wrote 2 rows' in capsys.readouterr().out
    assert read_meta_info(out) == [('a.jpg', 1.0), ('b.jpg', 2.0)]


def test_convert_agiqa_subcommand_errors(tmp_path, capsys):
    src = write(tmp_path / 'data.csv', 'name,prompt\na.jpg,x\n')
    args = build_parser().parse_args(['convert-agiqa', str(src), str(tmp_path / 'out.csv')])
    assert args.run(args) == 2
    assert 'missing column' in capsys.readouterr().err
    good = write(tmp_path / 'good.csv', 'name,mos_quality\na.jpg,1\n')
    args = build_parser().parse_args(['convert-agiqa', str(good), str(tmp_path / 'no' / 'out.csv')])
    assert args.run(args) == 2
    assert 'cannot write' in capsys.readouterr().err


# --- image names that escape the data root ----------------------------------------


@pytest.mark.parametrize('name', ['a.jpg', 'TestImage/00001.jpg', 'x/./y.png', 'a..b.jpg', '..a.jpg'])
def test_resolve_accepts_relative_names(tmp_path, name):
    assert resolve_image_path(tmp_path, name) == tmp_path / name


@pytest.mark.parametrize(
    'name, message',
    [
        ('/etc/passwd', 'absolute'),
        ('C:\\images\\a.jpg', 'absolute'),
        ('C:a.jpg', 'absolute'),
        ('\\\\server\\share\\a.jpg', 'absolute'),
        ('\\a.jpg', 'absolute'),
        ('//server/share/a.jpg', 'absolute'),
        ('../a.jpg', r'\.\.'),
        ('sub/../../a.jpg', r'\.\.'),
        ('sub/..', r'\.\.'),
        ('sub\\..\\..\\a.jpg', r'\.\.'),
        ('', 'empty'),
        ('   ', 'empty'),
        ('a\x00.jpg', 'NUL'),
    ],
)
def test_resolve_refuses_escapes(tmp_path, name, message):
    with pytest.raises(ValueError, match=message):
        resolve_image_path(tmp_path, name)


def test_resolve_refuses_non_strings(tmp_path):
    with pytest.raises(ValueError, match='string'):
        resolve_image_path(tmp_path, None)


@pytest.mark.parametrize(
    'name',
    [
        'meta_info_SPAQDataset.csv',
        'meta_info_KonIQ10kDataset.csv',
        'meta_info_KADID10kDataset_withdist.csv',
        'AGIQA-3K_data.csv',
    ],
)
def test_real_files_are_the_published_bytes(name, mos_file):
    import hashlib

    sums = dict(
        line.split()[::-1] for line in (Path(__file__).parent / 'data' / 'mos' / 'SHA256SUMS').read_text().splitlines()
    )
    assert hashlib.sha256(mos_file(name).read_bytes()).hexdigest() == sums[name]


# --- exact rules: names, encodings, messages ------------------------------------------


@pytest.mark.parametrize(
    'path, name',
    [
        ('meta_info_KonIQ10kDataset_splitDataset.csv', 'KonIQ10k'),  # cut at the first 'Dataset'
        ('meta_info_ADataset.csv', 'A'),  # a one-letter name before 'Dataset'
        ('meta_info_Dataset.csv', 'Dataset'),  # nothing before 'Dataset': no cut
        ('meta_info__data.csv', '_data'),  # '_data' alone is a name, not a suffix
    ],
)
def test_dataset_name_at_the_edges_of_its_rules(path, name):
    assert dataset_name(path) == name


def test_a_quoted_name_with_a_line_break_is_read_as_pandas_reads_it(tmp_path):
    import pandas as pd

    f = tmp_path / 'm.csv'
    f.write_bytes(b'img_name,mos\n"a\r\nb.jpg",1\nc.jpg,2\n')
    frame = pd.read_csv(f)
    assert read_meta_info(f) == list(zip(frame['img_name'], frame['mos'].astype(float)))
    assert read_meta_info(f)[0] == ('a\r\nb.jpg', 1.0)


def test_a_byte_order_mark_does_not_hide_the_full_reference_header(tmp_path):
    f = tmp_path / 'kadid.csv'
    f.write_bytes('\ufeffref_name,dist_name,dmos\nI01.png,I01_01_01.png,4.57\n'.encode('utf-8'))
    assert read_meta_info(f) == [('I01_01_01.png', 4.57)]


def test_meta_info_is_read_as_utf8_whatever_the_locale(tmp_path, ascii_locale):
    f = tmp_path / 'm.csv'
    f.write_bytes('img_name,mos\nété.jpg,3.5\n'.encode('utf-8'))
    assert read_meta_info(f) == [('été.jpg', 3.5)]


def test_blank_lines_before_the_header_are_skipped_as_pandas_does(tmp_path):
    import pandas as pd

    f = write(tmp_path / 'm.csv', '\n\n\nimg_name,mos\na.jpg,1.5\n')
    frame = pd.read_csv(f)
    assert list(frame.columns) == ['img_name', 'mos']
    assert read_meta_info(f) == [('a.jpg', 1.5)]
    blank = write(tmp_path / 'blank.csv', '\n \n,\n')
    with pytest.raises(MetaInfoError, match=r'the file is empty \(expected a header line\)$'):
        read_meta_info(blank)


@pytest.mark.parametrize(
    'text, message',
    [
        (
            'img_name\na.jpg\n',
            'missing column: pyiqa reads the no-reference layout (image name, MOS) from columns 1 and 2, '
            "but the header has only 1 column(s): ['img_name']",
        ),
        (
            'img_name;mos\na.jpg;1\n',
            'missing column: pyiqa reads the no-reference layout (image name, MOS) from columns 1 and 2, '
            'but the header has only 1 column(s): [\'img_name;mos\']; it looks separated by ";" -- '
            'pyiqa expects commas',
        ),
        (
            'ref_name,dist_name\nr.png,d.png\n',
            'missing column: pyiqa reads the full-reference layout (ref_name, dist_name, score) from '
            "columns 2 and 3, but the header has only 2 column(s): ['ref_name', 'dist_name']",
        ),
    ],
)
def test_a_missing_column_message_names_the_layout_and_the_columns(tmp_path, text, message):
    f = write(tmp_path / 'm.csv', text)
    with pytest.raises(MetaInfoError) as info:
        read_meta_info(f)
    assert str(info.value) == f'{f}: {message}'


def test_convert_agiqa_writes_lf_lines_in_utf8_whatever_the_locale(tmp_path, ascii_locale):
    src = tmp_path / 'data.csv'
    src.write_bytes('name,mos_quality\ncafé.jpg,1.25\nb.jpg,2.5\n'.encode('utf-8'))
    out = tmp_path / 'out.csv'
    assert convert_agiqa(src, out) == 2
    assert out.read_bytes() == 'name,mos\ncafé.jpg,1.25\nb.jpg,2.5\n'.encode('utf-8')


def test_convert_agiqa_skips_blank_rows_short_ones_included(tmp_path):
    # ',' is a row of two empty fields where the header has four: blank, skipped like an empty line
    src = write(tmp_path / 'data.csv', 'name,prompt,mos_quality,std_quality\na.jpg,x,1,0.1\n,\n,,,\nb.jpg,y,2,0.1\n')
    out = tmp_path / 'out.csv'
    assert convert_agiqa(src, out) == 2
    assert out.read_bytes() == b'name,mos\na.jpg,1\nb.jpg,2\n'


def test_convert_agiqa_names_a_missing_mos_and_its_column(tmp_path):
    src = write(tmp_path / 'data.csv', 'name,prompt,mos_quality\na.jpg,x,1\nb.jpg\n')
    with pytest.raises(MetaInfoError) as info:
        convert_agiqa(src, tmp_path / 'out.csv')
    assert str(info.value) == f"{src}, line 3: MOS '' in column 'mos_quality' is not a number"


def test_convert_agiqa_replaces_an_existing_output(tmp_path):
    src = write(tmp_path / 'data.csv', 'name,mos_quality\na.jpg,1\n')
    out = write(tmp_path / 'out.csv', 'old contents\n')
    assert convert_agiqa(src, out) == 1
    assert out.read_bytes() == b'name,mos\na.jpg,1\n'


def test_convert_agiqa_names_a_missing_input_even_when_the_output_exists(tmp_path):
    out = write(tmp_path / 'out.csv', 'old contents\n')
    with pytest.raises(MetaInfoError, match=r'data\.csv: no such file$'):
        convert_agiqa(tmp_path / 'data.csv', out)
    assert out.read_text() == 'old contents\n'
