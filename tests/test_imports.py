"""The command line's help and its CSV commands import neither torch, transformers nor pyiqa."""

import subprocess
import sys
import textwrap

HEAVY = ('torch', 'transformers', 'pyiqa')


def loaded_after(code, cwd):
    script = textwrap.dedent(code) + f'\nprint("loaded:" + ",".join(m for m in {HEAVY!r} if m in sys.modules))\n'
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1].removeprefix('loaded:')


def test_import_and_help_load_nothing_heavy(tmp_path):
    assert loaded_after('import sys, pyiqa_llmiqa', tmp_path) == ''
    assert (
        loaded_after(
            """
        import contextlib, io, sys
        from pyiqa_llmiqa.cli import main as cli
        for argv in (['--help'], *([c, '--help'] for c in
                     ('score', 'explain', 'bench', 'ceiling', 'convert-agiqa', 'options'))):
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    cli.main(argv)
                except SystemExit as stop:
                    assert stop.code == 0, argv
    """,
            tmp_path,
        )
        == ''
    )


def test_ceiling_and_convert_agiqa_load_nothing_heavy(tmp_path):
    (tmp_path / 'meta_info_toy.csv').write_text('name,mos\n' + ''.join(f'{i}.jpg,{i % 7 + 0.5}\n' for i in range(50)))
    (tmp_path / 'data.csv').write_text('name,prompt,mos_quality\na.png,x,1.5\nb.png,y,3.25\n')
    assert (
        loaded_after(
            """
        import sys
        from pyiqa_llmiqa.cli import main as cli
        assert cli.main(['ceiling', '--meta-info', 'meta_info_toy.csv', '--levels', '3', '5']) == 0
        assert cli.main(['convert-agiqa', 'data.csv', 'out.csv']) == 0
    """,
            tmp_path,
        )
        == ''
    )
    assert (tmp_path / 'out.csv').read_text().splitlines()[1:] == ['a.png,1.5', 'b.png,3.25']


def test_help_is_plain_text():
    from pyiqa_llmiqa.cli import main as cli

    parser = cli.build_parser()
    subparsers = parser._subparsers._group_actions[0].choices
    for text in [parser.format_help(), *(p.format_help() for p in subparsers.values())]:
        assert '`' not in text and '**' not in text, text
