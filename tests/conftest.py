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

# `make test` runs pytest as two processes side by side (tools/test_all.py), one core each: LYRICLOOP_TEST_SHARD=k/n keeps the test files
# of shard k, dealt largest first to the lighter shard by the seconds each file took in `make test` on 2 cores (its `--durations=0`,
# summed per file: tools/test_all.py prints them). A file stays whole, so its module fixtures (a training, a server) are made once.
FILE_SECONDS = dict(test_distributed=442, test_faults=437, test_train=141, test_docs=87, test_readme=83, test_generate=67, test_export=62,
                    test_craft=53, test_app=50, test_browser=45, test_cli=27, test_metrics=20, test_properties=19, test_demo=9, test_data=8,
                    test_project=5, test_pipeline=3)

def shard_files(files: list, n: int) -> list:
    "`files` (module names) dealt into `n` shards of about equal seconds: largest first, each to the shard with the fewest so far."
    shards = [[] for _ in range(n)]
    for f in sorted(files, key=lambda f: (-FILE_SECONDS.get(f, 30), f)):
        min(shards, key=lambda s: sum(FILE_SECONDS.get(x, 30) for x in s)).append(f)
    return shards

def _stage(item) -> int:
    "0: needs no trained run; 1: the session's pipeline run; 2: the demo run (it trains beside the other tests meanwhile)."
    names = set(item.fixturenames)
    return 2 if 'demo_run' in names else 1 if 'pipeline_run' in names else 0

def pytest_collection_modifyitems(config, items):
    "A test that needs a trained run is `slow` (`make check` leaves it out), as are those marked so by hand; files needing no trained run go first, those on the demo run last; under a shard, only its files."
    for item in items:
        if SLOW_FIXTURES & set(item.fixturenames): item.add_marker(pytest.mark.slow)
    shard = os.environ.get('LYRICLOOP_TEST_SHARD')
    if shard:
        k, n = map(int, shard.split('/'))
        keep = set(shard_files(sorted({item.module.__name__ for item in items}), n)[k - 1])
        config.hook.pytest_deselected(items=[i for i in items if i.module.__name__ not in keep])
        items[:] = [i for i in items if i.module.__name__ in keep]
    file_stage = {}
    for item in items: file_stage[item.module.__name__] = max(file_stage.get(item.module.__name__, 0), _stage(item))
    items.sort(key=lambda item: file_stage[item.module.__name__])   # stable, and by file: a module's tests stay together

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
