"The literate project's house rules: notebooks exported and clean, notebook asserts fail the suite, gpu cells skipped (README current and the docs built: test_docs.py)."
import filecmp, json, subprocess, sys
from pathlib import Path
import nbformat
import pytest
from conftest import ROOT, run, tool

def _tree(d):
    "Relative path -> bytes of every .py file under `d`."
    return {p.relative_to(d): p.read_bytes() for p in sorted(Path(d).rglob('*.py')) if '__pycache__' not in p.parts}

def test_export_leaves_package_unchanged(project_copy):
    before = _tree(project_copy/'lyricloop')
    run([tool('nbdev_export')], cwd=project_copy, check=True)
    after = _tree(project_copy/'lyricloop')
    changed = sorted(str(k) for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"nbdev_export changes {changed}: edit the notebooks, run nbdev_export, commit both"

def test_notebooks_are_clean(project_copy):
    nbs = sorted((project_copy/'nbs').glob('*.ipynb'))
    before = {p.name: p.read_bytes() for p in nbs}
    run([tool('nbdev_clean')], cwd=project_copy, check=True)
    dirty = [p.name for p in nbs if p.read_bytes() != before[p.name]]
    assert not dirty, f"nbdev_clean changes {dirty}: run nbdev_clean and commit"

def test_nbdev_test_fails_on_a_failing_assert(project_copy):
    nbs = project_copy/'nbs'
    for p in nbs.glob('*.ipynb'): p.unlink()
    good = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('assert 1 + 1 == 2')])
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x = 1'), nbformat.v4.new_code_cell('assert x == 2, "x is not 2"')])
    nbformat.write(good, nbs/'good.ipynb'); nbformat.write(bad, nbs/'bad.ipynb')
    ok = run([tool('nbdev_test'), '--path', 'nbs/good.ipynb'], cwd=project_copy)
    assert ok.returncode == 0, ok.stderr
    r = run([tool('nbdev_test'), '--path', 'nbs/bad.ipynb'], cwd=project_copy)
    assert r.returncode != 0 and 'x is not 2' in r.stderr and 'bad.ipynb' in r.stderr

def test_gpu_flagged_cells_are_skipped_on_cpu(project_copy):
    nbs = project_copy/'nbs'
    for p in nbs.glob('*.ipynb'): p.unlink()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('#| gpu\nassert False, "ran a gpu cell"')])
    nbformat.write(nb, nbs/'gpu.ipynb')
    assert run([tool('nbdev_test'), '--path', 'nbs/gpu.ipynb'], cwd=project_copy).returncode == 0
    assert run([tool('nbdev_test'), '--path', 'nbs/gpu.ipynb', '--flags', 'gpu'], cwd=project_copy).returncode != 0
