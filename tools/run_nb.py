"""Run one notebook as `nbdev_test --flags FLAGS` does, and print what its flagged cells printed (nbdev_test shows no output).

    python tools/run_nb.py nbs/05_train.ipynb --flags gpu     # exit status 1 if a cell fails

Used by tools/gpu_check.sh on a lent GPU machine, where the GPU cells' numbers are the point of the run."""
import argparse, os, sys, time
from pathlib import Path
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory
from nbdev.config import get_config
from nbdev.frontmatter import FrontmatterProc
from nbdev.process import NBProcessor

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('notebook'); ap.add_argument('--flags', default='', help='space-separated test flags to run (others in settings.ini are skipped)')
    a = ap.parse_args()
    fn, run = Path(a.notebook).resolve(), set(a.flags.split())
    skip = set(get_config().get('tst_flags', '').split()) - run
    nb = NBProcessor(fn, procs=FrontmatterProc, process=True).nb
    def no_eval(cell):   # nbdev's rule: markdown, `eval: false` and cells of skipped flags are not run
        if cell.cell_type != 'code': return True
        d = getattr(cell, 'directives_', {}) or {}
        return d.get('eval:', [''])[0].lower() == 'false' or bool(skip & d.keys())
    os.environ['IN_TEST'] = '1'
    k, t, ok = CaptureShell(fn), time.time(), True
    try:
        with working_directory(fn.parent): k.run_all(nb, exc_stop=True, preproc=no_eval)
    except Exception:
        ok = False; sys.stderr.write(k.prettytb(fname=fn) + '\n')
    for i, c in enumerate(nb.cells):
        if c.cell_type == 'code' and run & (getattr(c, 'directives_', {}) or {}).keys():
            print(f"--- cell {i} ({' '.join(run & c.directives_.keys())})")
            for o in c.get('outputs', []):
                print(''.join(o.get('text', '')) or ''.join(o.get('data', {}).get('text/plain', '')) or '\n'.join(o.get('traceback', [])), end='')
    bad = next((i for i, c in enumerate(nb.cells) if any(o.get('output_type') == 'error' for o in c.get('outputs', []))), None)
    flagged = bad is not None and bool(run & (getattr(nb.cells[bad], 'directives_', {}) or {}).keys())
    print(f"{fn.name}: passed in {time.time() - t:.0f} s" if ok else f"{fn.name}: FAILED at cell {bad} ({'flagged' if flagged else 'unflagged'}) in {time.time() - t:.0f} s")
    sys.exit(0 if ok else 1)

if __name__ == '__main__': main()
