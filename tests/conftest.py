import os, sys, shutil, subprocess
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

@pytest.fixture
def project_copy(tmp_path):
    "A copy of the project's nbdev sources (settings, notebooks, package) in a temp dir."
    dst = tmp_path/'proj'
    dst.mkdir()
    for f in ('settings.ini', 'setup.py', 'pyproject.toml', 'README.md'): shutil.copy(ROOT/f, dst/f)
    shutil.copytree(ROOT/'nbs', dst/'nbs', symlinks=True)
    shutil.copytree(ROOT/'lyricloop', dst/'lyricloop', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(ROOT/'_quarto.yml', dst/'_quarto.yml')
    return dst

@pytest.fixture(scope='session')
def pipeline_run(tmp_path_factory):
    "The one trained run of the test session: the whole pipeline on the sample, kept short (40 songs per genre, a 1-epoch base, 40 steps)."
    from lyricloop.pipeline import run_pipeline
    from lyricloop.embedded import embedded_config, EMBEDDED_RECIPE
    d = tmp_path_factory.mktemp('pipeline')
    cfg = embedded_config(data=dict(per_genre=40), training=dict(max_steps=40, max_length=384, eval_steps=20, save_steps=40))
    return run_pipeline(d, cfg, base_recipe={**EMBEDDED_RECIPE, 'epochs': 1}, base_dir=d/'base', n_per_genre=1, max_new_tokens=96, progress=False)
