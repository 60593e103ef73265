"""`make test` and `make check`: the notebooks (nbdev_test) and pytest side by side, sharing one session's cache and trained runs; then the times.

`make test` starts `lyricloop demo` first (the embedded default as shipped: the report notebook's run and the demo, README and app
tests' run), and, beside it, every notebook and every test. The report and those tests wait for the demo's folder (run_pipeline holds it)
and reuse it, so the one full training of the session happens once. A fresh LYRICLOOP_HOME is the session's cache of embedded bases: a
base is built once for every notebook and test that asks for it, and nothing is taken from (or left in) `~/.cache/lyricloop`.

`make check` is the inner loop: every notebook but the report, and the tests not marked `slow` (those that need a trained run, train,
kill processes, or drive a browser). Both print, at the end, each job's wall time, each notebook's time and the slowest tests.
"""
import argparse, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REPORT = '11_report.ipynb'
PYTEST_PROCESSES = 2   # pytest as two processes: most tests are one process on one thread, and with the demo and the notebooks done one core would idle
NICE = 5   # the notebooks and pytest yield to the demo: it is the longest job, and the report and the demo tests wait for it

def tool(name: str) -> str:
    "A console script installed beside this Python."
    return str(BIN/name)

def start(name: str, cmd: list, env: dict, logs: Path, nice: int = 0) -> dict:
    "Start `cmd` with its output in `logs/name.log`, `nice` steps below the demo's priority."
    log = logs/f'{name}.log'
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(log, 'w'), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         preexec_fn=(lambda: os.nice(nice)) if nice else None)
    print(f"started {name}: {' '.join(cmd)}", flush=True)
    return dict(name=name, proc=p, log=log, t0=time.time())

def finish(job: dict) -> dict:
    "Wait for `job`; say how it ended."
    job['rc'] = job['proc'].wait(); job['seconds'] = time.time() - job['t0']
    if job.get('status'): job['rc'] = int(job['status'].read_text().strip() or 1)   # the demo's own status, not its shell's
    print(f"{'passed' if job['rc'] == 0 else 'FAILED'}: {job['name']} in {job['seconds']:.0f} s (log {job['log']})", flush=True)
    return job

def nb_times(log: str) -> list:
    "nbdev_test's `--timing` lines: (seconds, notebook), slowest first."
    return sorted(((int(s), n) for n, s in re.findall(r'^(\S+\.ipynb): (\d+) secs$', log, re.M)), reverse=True)

def slowest_tests(log: str, n: int = 12) -> list:
    "pytest's `--durations` lines, slowest first."
    rows = re.findall(r'^(\d+\.\d+)s (call|setup|teardown)\s+(\S+)$', log, re.M)
    return sorted(((float(s), w, t) for s, w, t in rows), reverse=True)[:n]   # n=None: all

def file_times(log: str) -> list:
    "Seconds per test file (setup, call and teardown of its tests) from pytest's `--durations=0` lines, slowest first."
    per = {}
    for s, _, t in slowest_tests(log, n=None):
        f = Path(t.split('::')[0]).stem
        per[f] = per.get(f, 0) + s
    return sorted(per.items(), key=lambda x: -x[1])

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--check', action='store_true', help="the inner loop: no report, no slow tests")
    ap.add_argument('--keep', action='store_true', help="keep the session's folder (cache, runs, logs)")
    args = ap.parse_args(argv)
    session = Path(tempfile.mkdtemp(prefix='lyricloop-test-'))
    runs, logs, claims = session/'runs', session/'logs', session/'claims'
    runs.mkdir(); logs.mkdir(); claims.mkdir()
    env = dict(os.environ, LYRICLOOP_HOME=str(session/'home'), LYRICLOOP_TEST_RUNS=str(runs), LYRICLOOP_REPORT_DIR=str(runs/'demo'),
               OMP_NUM_THREADS='1',      # one thread a process: the jobs below share the cores; two OpenMP threads each would thrash
               HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', HF_DATASETS_OFFLINE='1', PYTHONUNBUFFERED='1')
    t0, jobs = time.time(), []
    if not args.check:                   # the session's one full run, first: the report and the demo/README tests wait for it
        demo_log = runs/'demo.log'
        p = subprocess.Popen(f"{tool('lyricloop')} demo --out {runs/'demo'} > {demo_log} 2>&1; echo $? > {runs/'demo.status'}",
                             shell=True, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)
        jobs.append(dict(name='demo', proc=p, log=demo_log, t0=time.time(), status=runs/'demo.status'))
        print(f"started demo: lyricloop demo --out {runs/'demo'}", flush=True)
    jobs.append(start('notebooks', [tool('nbdev_test'), '--n_workers', '1', '--do_print', '--timing',
                                    *(['--skip_file_re', r'^([_.]|' + re.escape(REPORT) + ')'] if args.check else [])], env, logs, NICE))
    for k in range(1, PYTEST_PROCESSES + 1):   # each takes the next test file the other has not claimed (tests/conftest.py)
        jobs.append(start(f'pytest-{k}', [sys.executable, '-m', 'pytest', '-q', 'tests/', '-p', 'no:cacheprovider', '--durations=0',
                                          *(['-m', 'not slow'] if args.check else [])], dict(env, LYRICLOOP_TEST_CLAIMS=str(claims)), logs, NICE))
    done = [finish(j) for j in jobs]
    texts = {j['name']: j['log'].read_text(errors='replace') for j in done}
    print(f"\n== times ({'make check' if args.check else 'make test'}, wall {time.time() - t0:.0f} s)")
    for j in done: print(f"  {j['name']:<10} {j['seconds']:6.0f} s  {'ok' if j['rc'] == 0 else 'FAILED'}")
    print("  notebooks, slowest first:", ', '.join(f"{n} {s} s" for s, n in nb_times(texts['notebooks']) if s) or '(none timed)')
    pytest_logs = '\n'.join(t for n, t in texts.items() if n.startswith('pytest'))
    print("  test files, slowest first (tests/conftest.py's FILE_SECONDS orders the files by these):",
          ', '.join(f"{f} {s:.0f} s" for f, s in file_times(pytest_logs)))
    print("  slowest tests:")
    for s, w, t in slowest_tests(pytest_logs): print(f"    {s:7.1f} s  {w:<5} {t}")
    failed = [j for j in done if j['rc'] != 0]
    for j in failed: print(f"\n== {j['name']} failed; the end of its log:\n{texts[j['name']][-6000:]}")
    if any(j['rc'] == 5 for j in done if j['name'].startswith('pytest')): print("pytest collected no tests: tests/ is missing or broken")
    if args.keep or failed: print(f"\nthe session's folder (cache, runs, logs): {session}")
    else: shutil.rmtree(session, ignore_errors=True)
    print("\n" + ("FAILED: " + ', '.join(j['name'] for j in failed) if failed else "all passed"))
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main())
