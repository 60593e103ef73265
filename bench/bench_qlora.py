"""Benchmark 4-bit NF4 QLoRA against bf16 LoRA for a Gemma-2b-sized model on the CPU or a CUDA GPU, side by side in one run.

    python bench/bench_qlora.py                 # the real google/gemma-2b shape (18 layers): 44 min on 2 busy cores
    python bench/bench_qlora.py --layers 1 --seq 64 --new 4 --bf16-train-timeout 60   # a 5-minute smoke run
    python bench/bench_qlora.py --device cuda --steps 6 --seq 1024   # on a GPU: peak GPU memory and tokens/s as well

On CUDA both variants compute in bf16, the peak GPU memory is what torch allocated (`torch.cuda.max_memory_allocated`)
in the measurement's process, and a training measurement of several steps leaves the first out of its time.

The model has the `google/gemma-2b` config (18 layers, hidden 2048, MLP 16384, 8 heads, 1 KV head, head_dim 256,
vocabulary 256,000: 2.5 B parameters) with random weights, built locally and saved once with `save_pretrained`
(bf16 safetensors, ~5 GB for 18 layers) into `--cache` (default `$LYRICLOOP_HOME/bench`); nothing is downloaded.
Both variants are loaded by `lyricloop.environment.load_model_and_tokenizer` with `dtype=bfloat16` on the CPU:

- **nf4**: 4-bit NF4 with double quantisation; the 4-bit layers compute in fp32 on the CPU (the loader's choice), the
  embedding (tied to the LM head: 256,000 x 2048, 1 GB in bf16) stays unquantised in bf16; training readies it with
  `prepare_model_for_kbit_training` (which upcasts the unquantised parameters to fp32) and steps bitsandbytes'
  `PagedAdamW8bit` (bitsandbytes falls back to its non-paged 8-bit AdamW on the CPU);
- **bf16**: plain bf16 weights and compute, gradient checkpointing, torch `AdamW`. On a CPU without native bf16
  (no AVX-512 BF16 / AMX) bf16 matmuls are emulated and very slow, so its training step is stopped after
  `--bf16-train-timeout` seconds and reported as a bound (the script prints both matmul speeds first).

Each measurement runs in its own Python process, so its peak RSS (the kernel's `ru_maxrss` of that process) is clean:
`load` (load, then one token through the model: safetensors are memory-mapped, so a weight counts in RSS only
once it is used), `train` (load + LoRA r=16 on q/k/v/o/gate/up/down + one optimizer step on one sequence of `--seq`
tokens, gradient checkpointing) and `generate` (load + the same LoRA adapter, unmerged as `LyricGenerator` serves it,
`--new` new tokens greedily after a `--prompt`-token prompt; tokens/s counts new tokens over the whole `generate` call).
Peak RSS counts the checkpoint's memory-mapped pages the process has touched (clean, reclaimable file pages: the
bf16 weights themselves, and for nf4 the bf16 source pages read while quantising, which stay mapped while the
unquantised embedding still views the file); peak anonymous RSS (sampled every 0.25 s) is the memory that cannot be
reclaimed. Prints a markdown table with the nf4/bf16 ratios. Target (issue #14): 4-bit load peak RSS <= 0.4x bf16.
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

GEMMA_2B = dict(vocab_size=256_000, hidden_size=2048, intermediate_size=16_384, num_hidden_layers=18, num_attention_heads=8,
                num_key_value_heads=1, head_dim=256, hidden_activation='gelu_pytorch_tanh', max_position_embeddings=8192,
                rms_norm_eps=1e-6, rope_theta=10_000.0, attention_bias=False, tie_word_embeddings=True,
                pad_token_id=0, eos_token_id=1, bos_token_id=2)
TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']

def build(path: Path, layers: int):
    "Write a random-weight Gemma-2b-shaped model (bf16 safetensors) and a small tokenizer with Gemma's special ids to `path`."
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GemmaConfig, GemmaForCausalLM, PreTrainedTokenizerFast
    cfg = GemmaConfig(**{**GEMMA_2B, 'num_hidden_layers': layers})
    torch.manual_seed(0)
    with torch.device('cuda' if torch.cuda.is_available() else 'cpu'):   # random init of 2.5 B weights: seconds on a GPU, minutes on a CPU
        model = GemmaForCausalLM._from_config(cfg, dtype=torch.bfloat16)
    words = ['<pad>', '<eos>', '<bos>', '<unk>'] + [f'w{i}' for i in range(252)]
    raw = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token='<unk>')); raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, pad_token='<pad>', eos_token='<eos>', bos_token='<bos>', unk_token='<unk>')
    tmp = path.with_name(path.name + '.tmp')
    model.save_pretrained(tmp); tok.save_pretrained(tmp)
    tmp.rename(path)
    return sum(p.numel() for p in model.parameters())

def rss_mb() -> float:
    import psutil
    return psutil.Process().memory_info().rss / 2**20

def child(what: str, variant: str, path: str, seq: int, prompt: int, new: int, device: str = 'cpu', steps: int = 1) -> dict:
    "One measurement in this (fresh) process on `device`; returns its numbers (on CUDA also the peak GPU memory torch allocated)."
    import warnings
    warnings.filterwarnings('ignore')
    import torch
    from lyricloop.environment import load_model_and_tokenizer, can_load_4bit
    cuda = device == 'cuda'
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    nf4 = variant == 'nf4'
    if nf4: assert can_load_4bit(device)[0], can_load_4bit(device)[1]
    res = dict(rss_before_load_mb=rss_mb())
    t = time.perf_counter()
    model, tok = load_model_and_tokenizer(path, load_in_4bit=nf4, device=device, dtype=torch.bfloat16, for_training=what == 'train')
    sync()
    res.update(load_s=time.perf_counter() - t, rss_after_load_mb=rss_mb(), footprint_mb=model.get_memory_footprint() / 2**20)
    if cuda: res['gpu_after_load_mb'] = torch.cuda.memory_allocated() / 2**20
    assert model.loaded_in_4bit == nf4
    if what == 'load':   # safetensors are memory-mapped: a weight is resident only once used, so run one token through all of them
        with torch.no_grad(): model(input_ids=torch.tensor([[2]], device=device))
        if cuda: res['peak_gpu_mb'] = torch.cuda.max_memory_allocated() / 2**20
        return res
    from peft import LoraConfig, get_peft_model
    if what == 'train' and not nf4: model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={'use_reentrant': False})
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=TARGETS, task_type='CAUSAL_LM'))
    g = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    if what == 'train':
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        if nf4:
            import bitsandbytes as bnb
            opt = bnb.optim.PagedAdamW8bit(params, lr=2e-4)
        else: opt = torch.optim.AdamW(params, lr=2e-4)
        ids = torch.randint(3, vocab, (1, seq), generator=g).to(device)
        times = []
        for _ in range(steps):   # with several steps, the first (allocator and kernel warm-up) is left out of step_s
            t = time.perf_counter()
            loss = model(input_ids=ids, labels=ids).loss
            loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
            sync(); times.append(time.perf_counter() - t)
        step_s = sum(times[1:]) / (len(times) - 1) if len(times) > 1 else times[0]
        res.update(step_s=step_s, tok_per_s=seq / step_s, loss=float(loss), trainable=sum(p.numel() for p in params))
        assert torch.isfinite(loss)
    else:
        model.eval()
        ids = torch.randint(3, vocab, (1, prompt), generator=g).to(device)
        with torch.no_grad():
            if cuda: model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=2, do_sample=False)   # warm-up
            t = time.perf_counter()
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new, min_new_tokens=new, do_sample=False)
            sync(); dt = time.perf_counter() - t
        assert out.shape[1] == prompt + new
        res.update(gen_s=dt, tok_per_s=new / dt)
    if cuda: res['peak_gpu_mb'] = torch.cuda.max_memory_allocated() / 2**20
    return res

def proc_mem_mb(pid: int) -> tuple[float, float]:
    "(peak RSS so far, anonymous RSS now) of a running process, MB (Linux `VmHWM`, `RssAnon`)."
    d = {}
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith(('VmHWM:', 'RssAnon:')): d[line.split(':')[0]] = int(line.split()[1]) / 1024
    except OSError: pass
    return d.get('VmHWM', 0.0), d.get('RssAnon', 0.0)

def measure(what, variant, a, timeout: float) -> dict:
    "Run one measurement in a fresh Python; its numbers, with the process's peak RSS and wall time (stopped after `timeout` s)."
    cmd = [sys.executable, __file__, '--child', what, variant, str(a.model_dir), str(a.seq), str(a.prompt), str(a.new), a.device, str(a.steps)]
    t, hwm, anon = time.perf_counter(), 0.0, 0.0
    with tempfile.TemporaryFile('w+') as out, tempfile.TemporaryFile('w+') as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        while p.poll() is None and time.perf_counter() - t < timeout:
            h, a_ = proc_mem_mb(p.pid); hwm, anon = max(hwm, h), max(anon, a_); time.sleep(0.25)
        if p.poll() is None:
            h, a_ = proc_mem_mb(p.pid); p.kill(); p.wait()
            return dict(timed_out=True, peak_rss_mb=max(hwm, h), peak_anon_mb=max(anon, a_), wall_s=time.perf_counter() - t)
        out.seek(0); err.seek(0)
        if p.returncode: raise SystemExit(f"{what}/{variant} failed:\n{err.read()[-3000:]}")
        res = json.loads(out.read().strip().splitlines()[-1])
    res['peak_anon_mb'] = max(anon, res.get('anon_end_mb', 0.0))
    res['wall_s'] = time.perf_counter() - t
    return res

def gemm_gflops(dtype, n=512, k=2048, m=2048) -> float:
    "Throughput of one (n x k) @ (k x m) matmul in `dtype` on this CPU (what a training step at seq n mostly does)."
    import torch
    a, b = torch.randn(n, k, dtype=dtype), torch.randn(k, m, dtype=dtype)
    a @ b
    t = time.perf_counter(); a @ b
    return 2 * n * k * m / (time.perf_counter() - t) / 1e9

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--layers', type=int, default=18, help='decoder layers (18 = google/gemma-2b; fewer for a smoke run)')
    ap.add_argument('--seq', type=int, default=512, help='tokens in the training sequence')
    ap.add_argument('--prompt', type=int, default=16, help='prompt tokens before generation')
    ap.add_argument('--new', type=int, default=32, help='new tokens to generate')
    ap.add_argument('--cache', default=None, help='where the random model is saved once (default $LYRICLOOP_HOME/bench)')
    ap.add_argument('--only', default='load,train,generate', help='comma-separated measurements to run')
    ap.add_argument('--timeout', type=float, default=1200, help='seconds after which a measurement is stopped')
    ap.add_argument('--bf16-train-timeout', type=float, default=120,
                    help='seconds after which the bf16 training step is stopped (bf16 matmuls are slow on CPUs without native bf16)')
    ap.add_argument('--device', default='cpu', choices=['cpu', 'cuda'], help='where to load, train and generate')
    ap.add_argument('--steps', type=int, default=1, help='training steps per measurement (more than 1: the first is a warm-up, left out of the time)')
    ap.add_argument('--child', nargs=8, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        import resource
        what, variant, path, seq, prompt, new, device, steps = a.child
        res = child(what, variant, path, int(seq), int(prompt), int(new), device, int(steps))
        res['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux: KiB
        res['anon_end_mb'] = proc_mem_mb(os.getpid())[1]
        print(json.dumps(res)); return
    t0 = time.perf_counter()
    home = Path(os.environ.get('LYRICLOOP_HOME', Path.home()/'.cache'/'lyricloop'))
    a.model_dir = Path(a.cache or home/'bench')/f'gemma-2b-random-{a.layers}l'
    if not (a.model_dir/'config.json').exists():
        a.model_dir.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        r = subprocess.run([sys.executable, '-c', f'import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_qlora as b; '
                            f'from pathlib import Path; print(b.build(Path({str(a.model_dir)!r}), {a.layers}))'], capture_output=True, text=True)
        if r.returncode: raise SystemExit(f"building the model failed:\n{r.stderr[-3000:]}")
        print(f"built a {int(r.stdout.split()[-1]) / 1e9:.2f} B-parameter model in {time.perf_counter() - t:.0f} s: {a.model_dir}", flush=True)
    import bitsandbytes, torch, transformers, peft
    size = sum(f.stat().st_size for f in a.model_dir.glob('*.safetensors')) / 2**30
    print(f"model: google/gemma-2b config, {a.layers} layers, random weights, {size:.2f} GiB bf16 safetensors · "
          f"{os.cpu_count()} CPU cores ({torch.backends.cpu.get_cpu_capability()}) · load average {os.getloadavg()[0]:.1f} · "
          f"torch {torch.__version__} · transformers {transformers.__version__} · peft {peft.__version__} · bitsandbytes {bitsandbytes.__version__}")
    if a.device == 'cuda': print(f"GPU: {torch.cuda.get_device_name(0)}, {torch.cuda.get_device_properties(0).total_memory / 2**30:.0f} GiB", flush=True)
    else: print(f"matmul 512x2048 @ 2048x2048 on this CPU: fp32 {gemm_gflops(torch.float32):.1f} GFLOPS, bf16 {gemm_gflops(torch.bfloat16):.1f} GFLOPS", flush=True)
    R = {}
    for what in a.only.split(','):
        for variant in ('bf16', 'nf4'):
            limit = a.bf16_train_timeout if (what, variant) == ('train', 'bf16') and a.device == 'cpu' else a.timeout
            R[what, variant] = r = measure(what, variant, a, limit)
            print(f"  {what:<8} {variant:<4}", json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}), flush=True)
    rows = []
    def row(name, key, what, fmt, scale=1):
        if (what, 'bf16') not in R: return
        cell = lambda r: (f"> {r['wall_s']:.0f} (stopped)" if key.endswith('_s') else f"≥ {fmt.format(r[key] / scale)} (stopped)") \
                          if r.get('timed_out') else fmt.format(r[key] / scale)
        b, q = R[what, 'bf16'], R[what, 'nf4']
        ratio = '' if b.get('timed_out') or q.get('timed_out') else f"{q[key] / b[key]:.2f}x"
        if key.endswith('_s') and b.get('timed_out') and not q.get('timed_out'): ratio = f"< {q[key] / b['wall_s']:.2f}x"
        rows.append(f"| {name} | {cell(b)} | {cell(q)} | {ratio} |")
    row('load + 1-token forward: peak RSS (GB)', 'peak_rss_mb', 'load', '{:.2f}', 1024)
    row('load + 1-token forward: peak anonymous RSS (GB)', 'peak_anon_mb', 'load', '{:.2f}', 1024)
    row('load: model footprint (GB)', 'footprint_mb', 'load', '{:.2f}', 1024)
    row('load: time (s)', 'load_s', 'load', '{:.1f}')
    if a.device == 'cuda':
        row('load + 1-token forward: peak GPU memory (GB)', 'peak_gpu_mb', 'load', '{:.2f}', 1024)
        row('train: GPU memory after loading, readied for training (GB)', 'gpu_after_load_mb', 'train', '{:.2f}', 1024)
        row(f'train step, seq {a.seq}: peak GPU memory (GB)', 'peak_gpu_mb', 'train', '{:.2f}', 1024)
        row(f'train step, seq {a.seq}: time (s)', 'step_s', 'train', '{:.3f}')
        row(f'train: tokens/s', 'tok_per_s', 'train', '{:.0f}')
        row(f'generate: peak GPU memory (GB)', 'peak_gpu_mb', 'generate', '{:.2f}', 1024)
    else: row(f'train step, seq {a.seq}: time (s)', 'step_s', 'train', '{:.0f}')
    row('train: peak RSS (GB)', 'peak_rss_mb', 'train', '{:.2f}', 1024)
    row('train: peak anonymous RSS (GB)', 'peak_anon_mb', 'train', '{:.2f}', 1024)
    row(f'generate {a.new} tokens: tokens/s', 'tok_per_s', 'generate', '{:.2f}')
    row('generate: peak RSS (GB)', 'peak_rss_mb', 'generate', '{:.2f}', 1024)
    row('generate: peak anonymous RSS (GB)', 'peak_anon_mb', 'generate', '{:.2f}', 1024)
    print('\n| measure | bf16 LoRA | 4-bit NF4 QLoRA | 4-bit / bf16 |\n|---|---|---|---|')
    print('\n'.join(rows))
    if ('load', 'nf4') in R and a.device == 'cpu':
        ratio = R['load', 'nf4']['peak_rss_mb'] / R['load', 'bf16']['peak_rss_mb']
        print(f"\ntarget 4-bit load peak RSS <= 0.4x bf16: {ratio:.2f}x, {'met' if ratio <= 0.4 else 'NOT met'}")
    print(f"bench wall time {(time.perf_counter() - t0) / 60:.1f} min")

if __name__ == '__main__': main()
