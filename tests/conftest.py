import os, sys, shutil, subprocess, tempfile, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
os.environ.setdefault('HF_DATASETS_OFFLINE', '1')

def tool(name):
    "Path of a console script installed beside this Python."
    p = BIN/name
    return str(p) if p.exists() else shutil.which(name) or name

def run(cmd, cwd=ROOT, check=False, timeout=1200, **kw):
    "Run `cmd`, capture its output, optionally fail with it."
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode: raise AssertionError(f"{cmd} exited {r.returncode}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r

def copy_project(dst: Path) -> Path:
    "A copy of the project's nbdev sources (settings, notebooks, package) at `dst`."
    dst.mkdir(parents=True)
    for f in ('settings.ini', 'setup.py', 'pyproject.toml', 'README.md'): shutil.copy(ROOT/f, dst/f)
    shutil.copytree(ROOT/'nbs', dst/'nbs', symlinks=True)
    shutil.copytree(ROOT/'lyricloop', dst/'lyricloop', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(ROOT/'_quarto.yml', dst/'_quarto.yml')
    return dst

@pytest.fixture
def project_copy(tmp_path):
    "A copy of the project's nbdev sources in a temp dir, for a test that changes it."
    return copy_project(tmp_path/'proj')

# The runs a test session trains, each once: under `make test` (tools/test_all.py) in a folder that the notebooks share,
# with a fresh LYRICLOOP_HOME for the embedded bases; run alone, pytest makes its own.
RUNS = Path(os.environ.get('LYRICLOOP_TEST_RUNS') or tempfile.mkdtemp(prefix='lyricloop-runs-'))
SLOW_FIXTURES = {'pipeline_run', 'demo_run'}

# `make test` runs pytest as two processes side by side (tools/test_all.py), one core each, that share out the test files as they go: each
# process takes the next file nobody has claimed (a claim is a file made with O_EXCL in LYRICLOOP_TEST_CLAIMS), so a process that is
# free takes more and no split decided up front can leave one idle. A file stays whole, so its module fixtures (a training, a server) are
# made once. The order: the files that need no demo run, longest first by the seconds they took in `make test` (its `--durations=0`,
# summed per file, which tools/test_all.py prints; a file not listed counts 30 s), then those on the demo run, which trains meanwhile.
FILE_SECONDS = dict(test_faults=561, test_distributed=360, test_train=298, test_readme=89, test_generate=69, test_docs=49, test_browser=45,
                    test_export=38, test_craft=20, test_metrics=19, test_app=17, test_demo=9, test_cli=8, test_properties=6, test_pipeline=4,
                    test_data=3, test_project=3)

def _needs_demo(item) -> bool: return 'demo_run' in item.fixturenames

def pytest_collection_modifyitems(config, items):
    "A test that needs a trained run is `slow` (`make check` leaves it out), as are those marked so by hand; the files in the order above."
    for item in items:
        if SLOW_FIXTURES & set(item.fixturenames): item.add_marker(pytest.mark.slow)
    demo_files = {item.module.__name__ for item in items if _needs_demo(item)}
    key = lambda f: (f in demo_files, -FILE_SECONDS.get(f, 30), f)
    items.sort(key=lambda item: key(item.module.__name__))   # stable, and by file: a module's tests stay together

def _claimed(claims: Path, module: str) -> bool:
    "Claim test file `module` for this process; False when another process has it."
    try: os.close(os.open(claims/module, os.O_CREAT | os.O_EXCL | os.O_WRONLY)); return True
    except FileExistsError: return False

def pytest_runtestloop(session):
    "Under LYRICLOOP_TEST_CLAIMS, pytest's own loop over only the files this process claims, each when it gets to it."
    claims = os.environ.get('LYRICLOOP_TEST_CLAIMS')
    if not claims or session.config.option.collectonly or session.testsfailed: return None   # pytest's own loop (and its errors)
    files = {}
    for item in session.items: files.setdefault(item.module.__name__, []).append(item)
    names = list(files)
    for k, name in enumerate(names):
        if not _claimed(Path(claims), name): continue
        items = files[name]
        after = files[names[k + 1]][0] if k + 1 < len(names) else None   # any item outside this file: its module fixtures end, the session's stay
        for i, item in enumerate(items):
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=items[i + 1] if i + 1 < len(items) else after)
            if session.shouldfail: raise session.Failed(session.shouldfail)
            if session.shouldstop: raise session.Interrupted(session.shouldstop)
    return True

@pytest.fixture(scope='session')
def pipeline_run():
    "The short trained run of the test session: the whole pipeline on the sample (40 songs per genre, a 1-epoch base, 40 steps)."
    from lyricloop.pipeline import run_pipeline
    from lyricloop.embedded import embedded_config, EMBEDDED_RECIPE
    d = RUNS/'pipeline'
    cfg = embedded_config(data=dict(per_genre=40), training=dict(max_steps=40, max_length=384, eval_steps=20, save_steps=40))
    return run_pipeline(d, cfg, base_recipe={**EMBEDDED_RECIPE, 'epochs': 1}, base_dir=d/'base', n_per_genre=1, max_new_tokens=96, progress=False)

DEMO_WAIT = 3600   # seconds to wait for a demo run another process started

@pytest.fixture(scope='session')
def demo_run():
    "The session's one `lyricloop demo` as shipped (the embedded default, the report's run too), and the log of the call that made it."
    out, log, status = RUNS/'demo', RUNS/'demo.log', RUNS/'demo.status'
    if not log.exists():                 # pytest alone: this call makes it; under make test tools/test_all.py started it first
        RUNS.mkdir(parents=True, exist_ok=True)
        r = run([tool('lyricloop'), 'demo', '--out', str(out)], timeout=DEMO_WAIT)
        log.write_text(r.stdout + r.stderr); status.write_text(f'{r.returncode}\n')
    deadline = time.time() + DEMO_WAIT
    while not status.exists():
        assert time.time() < deadline, f"the demo run in {out} did not finish in {DEMO_WAIT} s"
        time.sleep(2)
    assert status.read_text().strip() == '0', f"lyricloop demo failed:\n{log.read_text()[-4000:]}"
    return dict(root=out, data=out/'data', run=out/'run', log=log.read_text())
