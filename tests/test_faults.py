"Faults and hostile input, run as a user would: path errors are one line and status 2, a killed `prepare` or base build leaves the old state or the new one."
import json, os, re, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import run, tool, ROOT

def one_line_error(r, *words):
    "`r` failed with status 2 and one stderr line holding `words`, no traceback."
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    errors = [l for l in r.stderr.splitlines() if l.startswith('lyricloop ')]   # libraries may log notices of their own above it
    assert len(errors) == 1 and ': error: ' in errors[0] and 'Traceback' not in r.stderr, r.stderr[-2000:]
    for w in words: assert w in errors[0], errors[0]

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
    home = tmp_path/'home'
    one_line_error(run([tool('lyricloop'), 'train', '--data', str(data), '--out', str(f/'run')], env=dict(os.environ, LYRICLOOP_HOME=str(home))),
                   '--out', 'file.txt is a file')
    assert not home.exists()   # refused up front, not after building a base

# --- runs: portable, checked against their data, one trainer per folder ---

@pytest.fixture
def moved_run(pipeline_run, tmp_path):
    "The session's run copied alone to another folder, as if the base it was trained from (its recorded path) were gone, with an empty cache. The session's base itself stays: other tests read it meanwhile."
    dst = tmp_path/'elsewhere'/'run'
    shutil.copytree(pipeline_run['run'], dst, ignore=shutil.ignore_patterns('checkpoints'))
    gone = str(tmp_path/'gone'/'base')                                      # where the copy says its base was: nothing is there
    for f, key in (('config.json', None), ('provenance.json', 'config')):
        rec = json.loads((dst/f).read_text()); cfg = rec[key] if key else rec
        assert cfg['model']['model_id'] == str(pipeline_run['base']); cfg['model']['model_id'] = gone
        (dst/f).write_text(json.dumps(rec))
    yield dst, dict(os.environ, LYRICLOOP_HOME=str(tmp_path/'empty-home'))

def test_a_copied_run_loads_without_its_base_or_the_cache(moved_run):
    run_dir, env = moved_run
    assert json.loads((run_dir/'adapter'/'adapter_config.json').read_text())['base_model_name_or_path'] == 'base'
    r = run([tool('lyricloop'), 'generate', '--run', str(run_dir), '--genre', 'Pop', '--song-map', 'Verse, Chorus'], env=env, check=True)
    assert '[Verse 1]' in r.stdout and '[Chorus]' in r.stdout
    assert not (Path(env['LYRICLOOP_HOME'])).exists()   # nothing rebuilt

def test_generate_names_what_changed_in_a_runs_config(pipeline_run, tmp_path):
    dst = tmp_path/'run'
    shutil.copytree(pipeline_run['run'], dst, ignore=shutil.ignore_patterns('checkpoints'))
    cfg = json.loads((dst/'config.json').read_text()); cfg['model']['template'] = 'structured'   # it was trained on 'compact' prompts
    (dst/'config.json').write_text(json.dumps(cfg))
    one_line_error(run([tool('lyricloop'), 'generate', '--run', str(dst), '--genre', 'Pop']), 'changed since the run was trained', "model.template is 'structured', was 'compact'")

def test_evaluate_refuses_data_the_run_was_not_trained_on(pipeline_run, tmp_path):
    other = tmp_path/'data'
    run([tool('lyricloop'), 'prepare', '--out', str(other), '--per-genre', '20', '--quiet'], check=True)
    r = run([tool('lyricloop'), 'evaluate', '--run', str(pipeline_run['run']), '--data', str(other), '--n-per-genre', '1', '--out', str(tmp_path/'m.json')])
    one_line_error(r, 'not the data', 'train has 96 songs, was 192', 'data.per_genre is 20, was 40')
    assert not (tmp_path/'m.json').exists()

def test_a_second_trainer_of_one_run_folder_is_told_who_holds_it(pipeline_run, tmp_path):
    from lyricloop.data import hold_lock
    out = tmp_path/'run'; out.mkdir()
    lock = hold_lock(out/'.lock', str(out))
    try: r = run([tool('lyricloop'), 'train', '--data', str(pipeline_run['data']), '--out', str(out), '--max-steps', '1'])
    finally: lock.release()
    one_line_error(r, f'{out}: in use by another process (pid {os.getpid()})')

# --- kills: a SIGKILL at any point leaves the old state or the new one, and the rerun works ---

def _killed_at(cmd, seconds, env=None):
    "Start `cmd` in its own session and SIGKILL the whole group after `seconds`."
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(seconds)
    try: os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError: pass
    p.wait()

@pytest.mark.slow
def test_a_killed_prepare_leaves_the_old_dataset_or_the_new(tmp_path):
    "SIGKILL `prepare` as it starts scanning, mid-scan, and at 0, 0.3 and 1 s past the scan's last row (it is cleaning, splitting, saving, publishing): the old dataset or the new, whole."
    from lyricloop.data import data_fingerprint, load_prepared
    out = tmp_path/'data'
    cmd = lambda n: [tool('lyricloop'), 'prepare', '--out', str(out), '--per-genre', str(n), '--overwrite', '--workers', '2']
    r = run(cmd(30), check=True); new = data_fingerprint(out)
    rows = int(re.search(r'scanned ([\d,]+) rows', r.stdout)[1].replace(',', ''))
    run(cmd(20), check=True); old = data_fingerprint(out)
    scanned = lambda line: (m := re.match(r'scanning: ([\d.]+)(k?) rows', line)) and float(m[1]) * (1000 if m[2] else 1)
    seen = []
    for hit, after in ((lambda l: 'scanning: 0' in l, 0), (lambda l: 'k rows' in l, 0), *[(lambda l: (scanned(l) or 0) >= 0.99 * rows, t) for t in (0, 0.3, 1.0)]):
        _killed_on(cmd(30), os.environ, hit, after)
        now = data_fingerprint(out); load_prepared(out)          # always a whole dataset
        assert now in (old, new); seen.append('new' if now == new else 'old')
        if now == new: run(cmd(20), check=True)                  # back to the old one for the next kill
    print('states after each kill:', seen, '; temp folders left:', len([p for p in tmp_path.iterdir() if '.tmp-' in p.name]))
    assert seen[0] == 'old'                                       # killed before it could publish
    run(cmd(30), check=True)
    assert data_fingerprint(out) == new
    assert [p.name for p in tmp_path.iterdir()] == ['data']      # the rerun cleared the killed runs' temp folders

BUILD = "import sys; from lyricloop.embedded import build_embedded_model; print(build_embedded_model(sys.argv[1], progress=sys.argv[2:] == ['shown']))"

def _killed_on(cmd, env, hit, after: float = 0.0) -> str:
    "Start `cmd` in its own session with a progress line at every step; SIGKILL the whole group `after` s past the first line of its output that `hit` accepts, and return that line."
    p = subprocess.Popen(cmd, cwd=ROOT, env=dict(env, LYRICLOOP_LOG_EVERY='0', PYTHONUNBUFFERED='1'), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    seen = []
    for line in p.stdout:                                  # the program says where it is: no guessed delay
        seen.append(line)
        if hit(line): break
    else: raise AssertionError(f"{cmd} ended without the line to kill at:\n{''.join(seen)[-2000:]}")
    time.sleep(after)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    return line

def _killed_when(cmd, env, bar: str, at) -> int:
    "SIGKILL `cmd` (as `_killed_on`) at the first line of its progress bar `bar` whose step (n, total) `at` accepts; the step it was killed at."
    step = lambda line: (m := re.match(rf'{re.escape(bar)}:.*\| *(\d+)/(\d+) ', line)) and at(int(m[1]), int(m[2]))
    return int(re.match(rf'{re.escape(bar)}:.*\| *(\d+)/', _killed_on(cmd, env, step))[1])

@pytest.fixture(scope='module')
def small_data(tmp_path_factory):
    "A small prepared dataset (10 songs per genre), shared by the base-build tests here: they read it, never change it."
    data = tmp_path_factory.mktemp('small')/'data'
    run([tool('lyricloop'), 'prepare', '--out', str(data), '--per-genre', '10', '--quiet'], check=True)
    return data

def _bases(home: Path) -> list:
    "The embedded bases in cache `home`, each checked to be whole."
    found = sorted(home.glob('embedded-*')) if home.exists() else []
    for b in found: assert (b/'model.safetensors').exists() and json.loads((b/'lyricloop_base.json').read_text())['fingerprint'] in b.name
    return found

@pytest.mark.slow
def test_a_killed_base_build_leaves_no_base_or_a_whole_one(small_data, tmp_path):
    "SIGKILL the base build at its first pre-training step, half way, and at the last step (it is saving or publishing): no base or a whole one; the rerun builds it and clears the killed builds' temp folders."
    env = dict(os.environ, LYRICLOOP_HOME=str(tmp_path/'home'))
    for at in (lambda n, total: n >= 1, lambda n, total: n >= total // 2, lambda n, total: n == total):
        _killed_when([tool('python'), '-c', BUILD, str(small_data), 'shown'], env, 'pre-training the base', at)
        assert len(_bases(tmp_path/'home')) <= 1
    r = run([tool('python'), '-c', BUILD, str(small_data)], env=env, check=True)
    assert [Path(r.stdout.strip())] == _bases(tmp_path/'home')
    assert not [p for p in (tmp_path/'home').iterdir() if '.tmp-' in p.name]   # the killed builds' temp folders are gone
    from lyricloop.environment import load_model_and_tokenizer
    load_model_and_tokenizer(r.stdout.strip(), load_in_4bit=False)

@pytest.mark.slow
def test_two_processes_building_one_base_build_it_once(small_data, tmp_path):
    env = dict(os.environ, LYRICLOOP_HOME=str(tmp_path/'home'))
    ps = [subprocess.Popen([tool('python'), '-c', BUILD, str(small_data)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
          for _ in range(2)]
    outs = [p.communicate(timeout=900) for p in ps]
    assert all(p.returncode == 0 for p in ps), outs
    assert outs[0][0] == outs[1][0] and [Path(outs[0][0].strip())] == _bases(tmp_path/'home')
    assert sum('is writing it; waiting for it' in err for _, err in outs) == 1

@pytest.mark.slow
def test_a_resumed_run_keeps_its_own_base_with_the_cache_cleared(small_data, tmp_path):
    from lyricloop.embedded import embedded_config
    embedded_config(training=dict(max_length=384, eval_steps=2, save_steps=2, logging_steps=1)).save(tmp_path/'cfg.json')
    env = dict(os.environ, LYRICLOOP_HOME=str(tmp_path/'home'))
    cmd = lambda steps, *x: [tool('lyricloop'), 'train', '--data', str(small_data), '--out', str(tmp_path/'run'), '--config', str(tmp_path/'cfg.json'),
                             '--max-steps', str(steps), '--quiet', *x]
    run(cmd(2), env=env, check=True)
    shutil.rmtree(tmp_path/'home')
    r = run(cmd(4, '--resume'), env=env, check=True)
    assert 'resumed from checkpoint-2' in r.stdout and not (tmp_path/'home').exists()   # resumed on the run's own base: nothing rebuilt

def _loaded(pid: int, library: str) -> bool:
    "Whether process `pid` has mapped a shared library whose path holds `library` (Linux's /proc)."
    try: return library in Path(f'/proc/{pid}/maps').read_text()
    except (FileNotFoundError, ProcessLookupError): return False

def _interrupt(cmd, env, marker=None, loaded=None, after=0.0):
    "Start `cmd` in its own session, then SIGINT its process group as ^C does, `after` s past a point the program shows: `marker` on its stderr, or `loaded` mapped. (status, stderr)."
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))   # as from a terminal: a shell without job control starts background jobs with ^C ignored
    seen = []
    if marker:
        for line in p.stderr:                # the program says where it is: no guessed delay
            seen.append(line)
            if marker in line: break
        assert marker in ''.join(seen), f"{cmd} never reported {marker!r}:\n{''.join(seen)[-2000:]}"
    if loaded:
        deadline = time.time() + 120
        while not _loaded(p.pid, loaded):
            assert p.poll() is None and time.time() < deadline, f"{cmd} ended before loading {loaded}"
            time.sleep(0.002)
    time.sleep(after)
    os.killpg(p.pid, signal.SIGINT)
    seen.append(p.stderr.read()); p.wait(timeout=120)
    print(f"{' '.join(cmd)}: status {p.returncode}, stderr:\n{''.join(seen)}")   # shown whole if the test fails (an assertion message is cut)
    return p.returncode, ''.join(seen)

@pytest.mark.slow
def test_ctrl_c_during_prepare_is_one_line_and_leaves_nothing(tmp_path):
    "^C once scanning has started or rows were scanned (as the progress lines report): status 130, one line after the progress, nothing written."
    from lyricloop.sample import write_genius_csv
    big = write_genius_csv(tmp_path/'big.csv', 40000, seed=0)   # seconds of cleaning and saving after the scan: the ^C lands mid-run
    cmd = [tool('lyricloop'), 'prepare', '--csv', str(big), '--out', str(tmp_path/'data'), '--workers', '2']
    env = dict(os.environ, LYRICLOOP_LOG_EVERY='0')             # a progress line at every update
    for marker in ('scanning: 0', 'k rows'):                    # the bar drawn; then some thousands of rows scanned
        code, err = _interrupt(cmd, env, marker)
        lines = [l for l in err.strip().splitlines() if not l.startswith('scanning: ')]
        assert (code, lines) == (130, ['lyricloop prepare: interrupted']), (marker, code, err[-2000:])
        assert sorted(p.name for p in tmp_path.iterdir()) == ['big.csv']

@pytest.mark.skipif(not Path('/proc/self/maps').exists(), reason="needs Linux's /proc to see when the CLI starts loading")
@pytest.mark.slow
def test_ctrl_c_at_start_up_is_quiet(tmp_path):
    "^C while the CLI loads its libraries (from the moment the process maps `_json`, which Python's own start-up does not load and the CLI's first imports do): one line, status 130, nothing written."
    from lyricloop.sample import write_genius_csv
    big = write_genius_csv(tmp_path/'big.csv', 40000, seed=0)   # seconds of work: every ^C below lands before it could finish
    cmd = [tool('lyricloop'), 'prepare', '--csv', str(big), '--out', str(tmp_path/'data'), '--quiet']
    for after in (0.0, 0.05, 0.2, 0.35, 0.5, 0.7, 1.0):      # 0.3-0.7 s under load: pandas loading, where a ^C was once lost (#28)
        code, err = _interrupt(cmd, os.environ, loaded='_json', after=after)
        assert code == 130 and 'Traceback' not in err, (after, code, err[-2000:])
        assert err.strip().splitlines() in (['lyricloop: interrupted'], ['lyricloop prepare: interrupted']), (after, err)
        assert sorted(p.name for p in tmp_path.iterdir()) == ['big.csv']

SWALLOWED_CTRL_C = """
import abc, os, signal
register = abc.ABCMeta.register
def register_then_ctrl_c(cls, subclass):
    if subclass.__name__ == '_memoryviewslice' and getattr(signal.getsignal(signal.SIGINT), '__name__', '') != '_leave':
        abc.ABCMeta.register = register                  # once, with the command running: ^C as a Cython module registers its
        os.kill(os.getpid(), signal.SIGINT)              # memoryview type, inside its `try: ... except: pass`
    return register(cls, subclass)
abc.ABCMeta.register = register_then_ctrl_c
"""

def test_ctrl_c_a_library_swallows_still_stops_prepare(tmp_path):
    "#28: a ^C whose KeyboardInterrupt lands in library code that swallows it (Cython's `except: pass` as pandas loads mid-scan) still stops `prepare`: status 130, one line, nothing written; it used to carry on and exit 0."
    from lyricloop.sample import write_genius_csv
    csv = write_genius_csv(tmp_path/'songs.csv', 3000, seed=0)
    site = tmp_path/'site'; site.mkdir(); (site/'sitecustomize.py').write_text(SWALLOWED_CTRL_C)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), *filter(None, [os.environ.get('PYTHONPATH')])]))
    r = subprocess.run([tool('lyricloop'), 'prepare', '--csv', str(csv), '--out', str(tmp_path/'data'), '--workers', '1', '--quiet'],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, start_new_session=True,
                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert (r.returncode, r.stderr) == (130, 'lyricloop prepare: interrupted\n'), (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['site', 'songs.csv']

def test_evaluate_out_is_checked_before_any_work(pipeline_run, tmp_path):
    r = run([tool('lyricloop'), 'evaluate', '--run', str(pipeline_run['run']), '--out', str(tmp_path)])
    one_line_error(r, 'is a folder; give a file name')
    assert r.stdout == ''      # refused up front: no evaluation ran (it prints its results)

def test_a_killed_export_or_evaluation_leaves_the_old_output_or_the_new(pipeline_run, tmp_path):
    "SIGKILL `export --merge` and `evaluate --out` at several points: each output is absent or whole, and the rerun works and leaves no temp folder."
    run_dir, merged, metrics = str(pipeline_run['run']), tmp_path/'merged', tmp_path/'metrics.json'
    export = [tool('lyricloop'), 'export', '--run', run_dir, '--out', str(merged), '--merge', '--overwrite']
    evaluate = [tool('lyricloop'), 'evaluate', '--run', run_dir, '--n-per-genre', '1', '--out', str(metrics)]
    for t in (2, 5, 9):
        _killed_at(export, t)
        assert not merged.exists() or {'model.safetensors', 'config.json', 'lyricloop.json'} <= {p.name for p in merged.iterdir()}
    for bar, at in (('perplexity', lambda n, total: n >= 1), ('generating', lambda n, total: n >= total // 2), ('generating', lambda n, total: n == total)):
        _killed_when(evaluate, os.environ, bar, at)        # scoring, writing songs, and with every song written (it is measuring and saving)
        assert not metrics.exists() or 'modes' in json.loads(metrics.read_text())
    run(export, check=True); run([*evaluate, '--quiet'], check=True)
    assert (merged/'model.safetensors').exists() and 'modes' in json.loads(metrics.read_text())
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith('.merged.')]   # the killed exports' temp folders are cleared
