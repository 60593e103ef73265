"`lyricloop demo` as a new user runs it: twice into the same folder, the second run reusing every stage, each log short and plain (no carriage returns, escape codes, library chatter) on a non-terminal."
import os, re
from conftest import run, tool

SMALL = ['--per-genre', '40', '--max-steps', '40', '--n-per-genre', '1']   # the demo's pipeline, kept short

def test_demo_twice_into_the_same_folder(tmp_path):
    env = {**os.environ, 'LYRICLOOP_HOME': str(tmp_path/'home')}       # the embedded base is built here, not in ~/.cache
    logs = []
    for _ in range(2):
        r = run([tool('lyricloop'), 'demo', '--out', str(tmp_path/'demo'), *SMALL], env=env, timeout=1500)
        assert r.returncode == 0, r.stderr[-3000:]
        logs.append(r.stdout + r.stderr)
    first, second = logs
    for log in logs:
        assert len(log.splitlines()) <= 100, f"{len(log.splitlines())} lines:\n{log}"
        assert '\r' not in log and '\x1b' not in log                   # no terminal control in a log
        assert not re.search(r"Warning|\{'loss'|\{'eval_loss'|Map:|Saving the dataset|gemm_4bit|Traceback", log), log
    assert 'fine-tuning:' not in second and 'pre-training the base:' not in second   # nothing retrained...
    assert re.search(r'reused: prepare, base, train, songs, evaluate', second)   # ...every stage reused
    assert 'fine-tuning:' in first and 'generating:' in first          # one progress line per long stage the first time
    assert (tmp_path/'demo'/'run'/'metrics.json').exists() and (tmp_path/'demo'/'run'/'figures').is_dir()
    assert first.count('scanning:') == 1                               # a bar shorter than LOG_EVERY (30 s) is one line in a log
    ppl = re.findall(r'^ {6}(\S+) +perplexity base', first, re.M)
    songs = [g for g, rest in re.findall(r'^ {6}(\S+) +(.*)$', first, re.M) if g in ppl and not rest.startswith('perplexity')]
    assert ppl == songs and len(ppl) == 6                              # the evaluation lists the genres in the songs' order
    assert 'EOS: songs the model ended itself' in first and 'shared lines: lines two songs' in first   # the summary's legend
    assert not list(tmp_path.rglob('*.lock.pid'))                      # no pid file of a finished process left (run folder, base cache)
