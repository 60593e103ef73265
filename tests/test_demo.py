"`lyricloop demo` as a new user runs it: the session's demo run (as shipped, trained once and shared with the report), then again into the same folder, reusing every stage; each log short and plain (no carriage returns, escape codes, library chatter) on a non-terminal."
import re
from conftest import run, tool

def test_demo_twice_into_the_same_folder(demo_run):
    again = run([tool('lyricloop'), 'demo', '--out', str(demo_run['root'])], timeout=1500)
    assert again.returncode == 0, again.stderr[-3000:]
    first, second = demo_run['log'], again.stdout + again.stderr
    for log in (first, second):
        assert len(log.splitlines()) <= 100, f"{len(log.splitlines())} lines:\n{log}"
        assert '\r' not in log and '\x1b' not in log                   # no terminal control in a log
        assert not re.search(r"Warning|\{'loss'|\{'eval_loss'|Map:|Saving the dataset|gemm_4bit|Traceback", log), log
    assert 'fine-tuning:' not in second and 'pre-training the base:' not in second   # nothing retrained...
    assert re.search(r'reused: prepare, base, train, songs, evaluate', second)   # ...every stage reused
    assert 'fine-tuning:' in first and 'generating:' in first          # one progress line per long stage the first time
    assert (demo_run['run']/'metrics.json').exists() and (demo_run['run']/'figures').is_dir()
    assert first.count('scanning:') == 1                               # a bar shorter than LOG_EVERY (30 s) is one line in a log
    ppl = re.findall(r'^ {6}(\S+) +perplexity base', first, re.M)
    songs = [g for g, rest in re.findall(r'^ {6}(\S+) +(.*)$', first, re.M) if g in ppl and not rest.startswith('perplexity')]
    assert ppl == songs and len(ppl) == 6                              # the evaluation lists the genres in the songs' order
    assert 'EOS: songs the model ended itself' in first and 'shared lines: lines two songs' in first   # the summary's legend
    assert not list(demo_run['run'].rglob('*.lock.pid'))               # no pid file of a finished trainer left in the run
