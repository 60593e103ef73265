"The README as a new user meets it: every Python block runs as written, in order, in one session, and the CLI examples work against what the demo wrote (the session's demo run, as `runs/demo/`)."
import re, shlex, sys
import pytest
from conftest import ROOT, run, tool

README = (ROOT/'README.md').read_text()

def fenced(lang: str) -> list[str]:
    "The README's fenced blocks in `lang`."
    return re.findall(rf'^```{lang}\n(.*?)^```', README, flags=re.S | re.M)

@pytest.fixture
def demo_dir(demo_run, tmp_path):
    "A working directory whose `runs/demo` is the session's demo run (data/ and run/, as `make demo` writes them)."
    (tmp_path/'runs').mkdir()
    (tmp_path/'runs'/'demo').symlink_to(demo_run['root'], target_is_directory=True)
    return tmp_path

def test_every_python_block_runs_as_written(demo_dir):
    blocks = fenced('python')
    assert len(blocks) >= 5, f"expected the README's Python examples, found {len(blocks)} blocks"
    (demo_dir/'readme.py').write_text('\n\n'.join(blocks))
    r = run([sys.executable, 'readme.py'], cwd=demo_dir, check=True, timeout=900)
    assert '[Verse 1]' in r.stdout and '\nTrue\n' in r.stdout        # a constrained song, and its map is the one asked for
    assert "'similarity'" in r.stdout                                # the free song's adherence

def test_cli_examples_run_against_the_demo_run(demo_dir):
    block = next(b for b in fenced('sh') if 'runs/demo/run' in b)
    lines = [shlex.split(l, comments=True) for l in block.splitlines()]
    cmds = [c for c in lines if c and c[0] == 'lyricloop' and c[1:2] != ['demo']]   # `demo` again: tests/test_demo.py
    assert any('generate' in c for c in cmds) and any('evaluate' in c for c in cmds)
    for c in cmds:
        r = run([tool('lyricloop'), *c[1:]], cwd=demo_dir, timeout=900)
        assert r.returncode == 0, f"{' '.join(c)}: {r.stderr[-2000:]}"
    assert (demo_dir/'runs/demo/run/metrics-quick.json').exists()
