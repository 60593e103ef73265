"""Benchmark SFT throughput on CPU: trl packing (BFD, padding-free) vs padding, on the same data, in one run; and two processes
(DDP over gloo, one thread each) against one process of two threads on the same two cores, with the same global batch.

    python bench/bench_train.py [--epochs 1] [--only packing|processes] [--steps 30] [--rounds 2]

Each mode fine-tunes the embedded tiny Gemma with LoRA for the same epochs on the prepared sample, in its own process.
Tokens/s counts real (non-pad) tokens seen by the trainer (trl's `num_tokens`) over the training loop's runtime.
Target (issue #4): packing >= 1.5x the tokens/s of padding. Also prints peak RSS and validation loss before/after, and
the ceiling any packing can reach on this data: the token positions the padded batches make the model process, over the
real tokens (counted from the trainers' own dataloaders).
Processes (issue #26): `lyricloop train --processes 2` (batch 4 in each process) against `lyricloop train` with OMP_NUM_THREADS=2
(batch 4 x accumulation 2): the same songs in every step. A ratio of tokens/s, no target: the point of several processes is
correctness here (tests/test_distributed.py) and speed on real hardware; the runs alternate, `--rounds` times, and the table
shows each one.
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

RUN = """
import json, sys
from lyricloop.embedded import embedded_config
from lyricloop.train import train
cfg = embedded_config(model=dict(model_id=sys.argv[3]), training=dict(packing=sys.argv[4] == 'packing', num_train_epochs=float(sys.argv[5]), eval_steps=10**6, save_steps=10**6))
print(json.dumps(train(sys.argv[1], sys.argv[2], cfg, progress=False)))
"""

def measure(*args):
    "Run one training in a fresh Python; (peak RSS MB, summary dict)."
    p = subprocess.Popen([sys.executable, '-c', RUN, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    if status: raise SystemExit(f"training run failed: {args}")
    return ru.ru_maxrss / 1024, json.loads(out.strip().splitlines()[-1])

COUNT = """
import json, sys, warnings
warnings.filterwarnings('ignore')
from lyricloop.data import load_prepared
from lyricloop.environment import load_model_and_tokenizer
from lyricloop.embedded import embedded_config
from lyricloop.prompts import training_example
from lyricloop.train import sft_config, lora_config
from peft import get_peft_model
from trl import SFTTrainer
dd, _ = load_prepared(sys.argv[1])
res = {}
for mode in ('padding', 'packing'):
    cfg = embedded_config(model=dict(model_id=sys.argv[2]), training=dict(packing=mode == 'packing'))
    model, tok = load_model_and_tokenizer(sys.argv[2], for_training=True)
    tok.eos_token = '<end_of_turn>'
    ex = dd['train'].map(lambda r: training_example(r, cfg.model.template), remove_columns=dd['train'].column_names)
    tr = SFTTrainer(model=get_peft_model(model, lora_config(cfg)), args=sft_config(cfg, sys.argv[3] + '/' + mode, 'cpu', False, False),
                    train_dataset=ex, eval_dataset=ex, processing_class=tok)
    real = positions = steps = 0
    for b in tr.get_train_dataloader():
        steps += 1; positions += b['input_ids'].numel()
        real += int(b['attention_mask'].sum()) if 'attention_mask' in b else b['input_ids'].numel()
    res[mode] = dict(steps=steps, real=real, positions=positions)
print(json.dumps(res))
"""

def count_positions(data, base, work):
    "Real tokens and processed token positions per epoch of each mode's training dataloader."
    out = subprocess.run([sys.executable, '-c', COUNT, str(data), str(base), str(work)], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])

def processes_run(data, out, base, processes: int, steps: int) -> dict:
    "One CLI training of `steps` steps at global batch 8 on two cores: 2 processes x 1 thread, or 1 process x 2 threads; its summary."
    from lyricloop.embedded import embedded_config
    cfg = embedded_config(model=dict(model_id=str(base)), training=dict(per_device_train_batch_size=4, gradient_accumulation_steps=2 // processes,
                                                                           eval_steps=10**6, save_steps=10**6))
    cfg.save(f'{out}.json')
    cmd = [sys.executable, '-m', 'lyricloop.cli', 'train', '--data', str(data), '--out', str(out), '--config', f'{out}.json',
           '--max-steps', str(steps), '--quiet'] + (['--processes', str(processes)] if processes > 1 else [])
    subprocess.run(cmd, check=True, capture_output=True, env=dict(os.environ, OMP_NUM_THREADS=str(2 // processes)))
    return json.loads((Path(out)/'train_summary.json').read_text())

def bench_processes(data, base, work, steps: int, rounds: int):
    "Print the processes table: tokens/s of each run, alternating, and the ratio of the medians."
    import statistics
    rows = []
    for k in range(rounds):
        for n in (1, 2): rows.append((n, processes_run(data, work/f'proc{n}-{k}', base, n, steps)))
    print(f"\nembedded tiny Gemma + LoRA r=16, {steps} steps of global batch 8 (same songs each step), on {os.cpu_count()} CPU cores\n")
    print("| run | processes x threads | steps | real tokens | train s | tokens/s |")
    print("|---|---|---:|---:|---:|---:|")
    for i, (n, s) in enumerate(rows):
        print(f"| {i // 2 + 1} | {n} x {2 // n} | {s['steps']} | {s['train_tokens']:,.0f} | {s['train_runtime']:.1f} | {s['train_tokens'] / s['train_runtime']:,.0f} |")
    rate = {n: statistics.median(s['train_tokens'] / s['train_runtime'] for m, s in rows if m == n) for n in (1, 2)}
    print(f"\n2 processes x 1 thread vs 1 process x 2 threads, tokens/s (medians): {rate[2] / rate[1]:.2f}x")

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--epochs', type=float, default=1.0)
    ap.add_argument('--only', choices=('packing', 'processes'), default=None)
    ap.add_argument('--steps', type=int, default=30, help='steps of each processes run')
    ap.add_argument('--rounds', type=int, default=2, help='alternating rounds of the processes runs')
    a = ap.parse_args()
    from lyricloop.pipeline import run_pipeline
    work = Path(tempfile.mkdtemp(prefix='bench-train-'))
    base = run_pipeline(work, until='base', progress=False)['base']   # the prepared sample and the embedded base
    if a.only != 'packing': bench_processes(work/'data', base, work, a.steps, a.rounds)
    if a.only == 'processes': return
    counts = count_positions(work/'data', base, work/'count')
    res = {m: measure(work/'data', work/m, base, m, a.epochs) for m in ('padding', 'packing')}
    print(f"\nembedded tiny Gemma + LoRA r=16, batch 8, max_length 512, {a.epochs:g} epoch(s) on the prepared sample; {os.cpu_count()} CPU cores\n")
    print("| mode | steps | real tokens | train s | tokens/s | peak RSS MB | val loss before → after |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for m, (rss, s) in res.items():
        print(f"| {m} | {s['steps']} | {s['train_tokens']:,.0f} | {s['train_runtime']:.1f} | {s['train_tokens'] / s['train_runtime']:,.0f} | {rss:,.0f} | "
              f"{s['first_eval_loss']:.3f} → {s['final_eval_loss']:.3f} |")
    ratio = (res['packing'][1]['train_tokens'] / res['packing'][1]['train_runtime']) / (res['padding'][1]['train_tokens'] / res['padding'][1]['train_runtime'])
    print(f"\npacking vs padding tokens/s: {ratio:.2f}x (target >= 1.5x: {'met' if ratio >= 1.5 else 'MISSED'})")
    pad, pack = counts['padding'], counts['packing']
    print(f"\nper epoch, from the dataloaders: padding makes the model process {pad['positions']:,} positions for {pad['real']:,} real tokens "
          f"({1 - pad['real'] / pad['positions']:.1%} pads, {pad['steps']} steps); packing {pack['positions']:,} positions ({pack['steps']} steps).\n"
          f"ceiling for any packing on this data: {pad['positions'] / pad['real']:.2f}x fewer positions than padding")

if __name__ == '__main__': main()
