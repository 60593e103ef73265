"Faults and hostile input, run as a user would: path errors are one line and status 2, a killed `prepare` or base build leaves the old state or the new one."
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import run, tool, ROOT

def one_line_error(r, *words):
    "`r` failed with status 2 and one stderr line holding `words`, no traceback."
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    for w in words: assert w in lines[0], lines[0]

def test_output_paths_that_cannot_be_folders(tmp_path):
    f = tmp_path/'file.txt'; f.write_text('x')
    one_line_error(run([tool('lyricloop'), 'prepare', '--out', str(f), '--quiet']), '--out', 'file.txt is a file, not a folder')
    one_line_error(run([tool('lyricloop'), 'prepare', '--out', '/sys/lyricloop-data', '--quiet']), 'cannot write in /sys')
    one_line_error(run([tool('lyricloop'), 'train', '--data', str(tmp_path/'none'), '--out', str(f)]), 'not a prepared dataset')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['file.txt'] and f.read_text() == 'x'

def test_train_out_is_checked_before_any_work(tmp_path):
    data = tmp_path/'data'
    run([tool('lyricloop'), 'prepare', '--out', str(data), '--per-genre', '10', '--quiet'], check=True)
    f = tmp_path/'file.txt'; f.write_text('x')
    t0 = time.time()
    one_line_error(run([tool('lyricloop'), 'train', '--data', str(data), '--out', str(f/'run')]), '--out', 'file.txt is a file')
    assert time.time() - t0 < 60   # refused up front, not after building a base
