"""Benchmark `lyricloop prepare` against the pandas baseline on a generated Genius-shaped CSV.

    python bench/bench_prepare.py [--rows 1000000] [--seed 0] [--repeats 3]

Each method runs in its own subprocess, `--repeats` times, alternating; wall time and peak RSS are measured in the same
run (ru_maxrss; for lyricloop, the sum of its main process's and its scan workers' peaks, an upper bound on the total), and the table shows the median (with the range: pandas' time swings with the machine's
memory state, as it allocates ~4 GB).
Baseline: what the original notebook did — pandas `read_csv` of the whole file, filter, `groupby('tag').sample`.
Targets (issue #3): peak RSS < 1 GB whatever the file size; wall time <= 1/3 of the baseline.
"""
import argparse, os, statistics, subprocess, sys, time, tempfile, shutil
from pathlib import Path

PREPARE = """
import sys
from lyricloop.config import LoopConfig
from lyricloop.data import prepare_dataset
st = prepare_dataset(sys.argv[1], sys.argv[2], LoopConfig(data=dict(max_per_genre=2000)), overwrite=True, progress=False)
print(st['rows_scanned'], st['per_genre'], st['peak_rss_mb'], st['workers'])
"""
PANDAS = """
import sys, pandas as pd
df = pd.read_csv(sys.argv[1])
df = df[df['tag'].isin(['pop', 'rap', 'rock', 'rb', 'country']) & (df['language'] == 'en') & df['lyrics'].notna()]
df = df.drop_duplicates('id')
n = min(df['tag'].value_counts().min(), 2000)
bal = df.groupby('tag').sample(n=n, random_state=42)
print(len(df), n)
"""

def measure(code, *args):
    "Run `code` in a fresh Python; (wall seconds, peak RSS in MB, stdout)."
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, '-c', code, *map(str, args)], stdout=subprocess.PIPE, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status: raise SystemExit(f"benchmark step failed ({status}):\n{code}")
    rss, fields = ru.ru_maxrss / 1024, out.split()
    if len(fields) >= 3: rss = max(rss, float(fields[2]))   # lyricloop reports its own peak plus its scan workers' peaks (summed)
    return wall, rss, out.strip()

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, default=1_000_000)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--workdir', default='bench/out')
    a = ap.parse_args()
    from lyricloop.sample import write_genius_csv
    work = Path(a.workdir); work.mkdir(parents=True, exist_ok=True)
    csv_path = work/f'genius_{a.rows}_{a.seed}.csv'
    if not csv_path.exists():
        t0 = time.perf_counter()
        write_genius_csv(csv_path.with_suffix('.part'), a.rows, a.seed, pool=2000).rename(csv_path)
        print(f"generated {csv_path} in {time.perf_counter() - t0:.0f}s")
    size_mb = csv_path.stat().st_size / 2**20
    out_dir = Path(tempfile.mkdtemp(dir=work))
    names = ('lyricloop prepare (stream + bottom-k)', 'pandas read_csv + groupby.sample')
    runs = {n: [] for n in names}
    try:
        for _ in range(a.repeats):
            runs[names[0]].append(measure(PREPARE, csv_path, out_dir/'data'))
            runs[names[1]].append(measure(PANDAS, csv_path))
    finally: shutil.rmtree(out_dir, ignore_errors=True)
    rows = int(runs[names[0]][0][2].split()[0])
    med = {n: statistics.median(w for w, _, _ in r) for n, r in runs.items()}
    base = med[names[1]]
    workers = runs[names[0]][0][2].split()[3]
    print(f"\nfile: {rows:,} rows, {size_mb:,.0f} MB; {os.cpu_count()} CPU cores, lyricloop scanned with {workers} worker processes; "
          f"median of {a.repeats} runs each\n")
    print("| method | wall s (median) | wall s (range) | rows/s | MB/s | peak RSS MB | wall vs pandas |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for n, r in runs.items():
        walls, rss = [w for w, _, _ in r], max(m for _, m, _ in r)
        print(f"| {n} | {med[n]:.1f} | {min(walls):.1f}–{max(walls):.1f} | {rows / med[n]:,.0f} | {size_mb / med[n]:,.0f} | {rss:,.0f} | {med[n] / base:.2f}× |")
    lw, lrss = med[names[0]], max(m for _, m, _ in runs[names[0]])
    print(f"\ntargets: peak RSS < 1024 MB: {'met' if lrss < 1024 else 'MISSED'} ({lrss:,.0f} MB); "
          f"wall <= 1/3 of pandas: {'met' if lw <= base / 3 else 'MISSED'} ({lw / base:.2f}× of the median)")

if __name__ == '__main__': main()
