"""Benchmark LyricLoop generation (free and constrained) against plain sampling `model.generate`, one song and a batch of 8.

    python bench/bench_generate.py                                  # embedded tiny model + a 2-layer gemma-2b-wide model
    python bench/bench_generate.py --only embedded --repeats 1      # a smoke run (seconds)
    python bench/bench_generate.py --run runs/demo                  # also a trained run's generator (`LyricGenerator.from_run`)

Models (same settings for every row of a model, float32, random weights, nothing downloaded):

- **embedded**: the embedded tiny Gemma's architecture (`embedded_gemma_config`) with a byte-level BPE tokenizer trained by
  `lyricloop.embedded.train_tokenizer` on the shipped sample (its training lyrics, titles and prompts, as
  `build_embedded_model` gathers them), randomly initialised instead of pre-trained;
- **wide**: `google/gemma-2b`'s width (hidden 2048, MLP 16384, 8 heads, 1 KV head, head_dim 256) but only `--layers`
  decoder layers and the same tiny tokenizer's vocabulary, so it runs on a couple of CPU cores;
- **run** (with `--run RUN`): a trained run's base + LoRA adapter, its own tokenizer and genres.

Rows, for n=1 and n=8 requests (n=8: 8 songs of different genres and 6-section song maps in one batch, one `generate` call):

- **floor**: plain `model.generate(do_sample=True)` with the same temperature / top-p / repetition penalty (top-k off) and
  prompts, `min_new_tokens = max_new_tokens` = the constrained batch's longest song (its generate steps);
- **free**: `LyricGenerator.generate_batch(mode='free', max_new_tokens=` the same `)`, with `min_new_tokens` set to it too
  (through the generator's generation settings), since a random model does sample a stop id now and then;
- **constrained**: `generate_batch(mode='constrained', section_tokens={'*': --new})`. A random model rarely picks an end,
  so each section runs to its budget (plus the end of its line, at most 24 tokens over), which pins the song's length.

New tokens are counted as LyricLoop counts them (`Song.new_tokens`: up to the song's end id), summed over the rows;
tokens/s = new tokens / wall seconds of the whole call (prompt building, prefill, decoding, decoding the text). In a batch
a finished row keeps being padded until the longest is done, so *steps* (decode steps of the batch) is shown too.
Time to first token: from the call's start to the start of the model's second forward pass (the first token of the batch
has been chosen then), recorded by a forward pre-hook, the same way for all rows. Each (model, n) is warmed up once with
short songs; then each repeat runs constrained, free, floor in turn, and the table shows the median of `--repeats`.
Targets (issue #13): constrained >= 0.9x free tokens/s for n=1 and for n=8; constrained n=8 >= 2.5x constrained n=1 tokens/s.
These rows keep songs on their maps only (`craft=False`). Craft (issue #24) has its own table: n=4 songs of the 10-section map
`CRAFT_MAP`, constrained with craft (rhyme scheme and syllables per section: the genre's, from the run, or `AABB, 8` for a
random model; line endings spelled through `EndingTrie`) against free on the same requests, pinned to the same steps;
target: constrained with craft >= 0.5x free tokens/s.
`--profile` adds a cProfile of one constrained n=8 call on the first model (top functions by own time).
"""
import argparse, cProfile, io, os, pstats, statistics, tempfile, time, warnings

MAPS = ['Verse, Chorus, Verse, Chorus, Bridge, Chorus', 'Intro, Verse, Pre-Chorus, Chorus, Verse, Outro',
        'Verse, Verse, Chorus, Bridge, Chorus, Outro', 'Intro, Verse, Chorus, Verse, Bridge, Outro',
        'Verse, Pre-Chorus, Chorus, Verse, Bridge, Outro', 'Verse, Chorus, Post-Chorus, Verse, Chorus, Outro',
        'Intro, Verse, Chorus, Bridge, Verse, Outro', 'Verse, Chorus, Verse, Bridge, Chorus, Chorus']
THEMES = ['the road home', 'a city at night', 'summer rain', 'an old friend', 'the last train', 'a broken radio',
          'morning light', 'a promise kept']
WIDE = dict(hidden_size=2048, intermediate_size=16_384, num_attention_heads=8, num_key_value_heads=1, head_dim=256,
            hidden_activation='gelu_pytorch_tanh', max_position_embeddings=8192, rms_norm_eps=1e-6, rope_theta=10_000.0,
            attention_bias=False, tie_word_embeddings=True)   # google/gemma-2b, but fewer layers and a small vocabulary

def sample_tokenizer():
    "The tiny tokenizer (trained on the shipped sample, as `build_embedded_model` does) and the sample's genres."
    from lyricloop.config import TEMPLATES
    from lyricloop.data import load_prepared
    from lyricloop.embedded import EMBEDDED_RECIPE, base_text, train_tokenizer
    from lyricloop.pipeline import run_pipeline
    from lyricloop.prompts import build_prompt
    with tempfile.TemporaryDirectory(prefix='bench-generate-') as work:
        dd, _ = load_prepared(run_pipeline(work, until='prepare', progress=False)['data'])
        train = list(dd['train'])
    prompts = [build_prompt(r['genre'], r['song_map'], theme=r['title'], template=t) for r in train for t in TEMPLATES]
    tok = train_tokenizer([base_text(r['lyrics']) for r in train] + [r['title'] for r in train] + prompts, EMBEDDED_RECIPE['vocab_size'])
    return tok, sorted({r['genre'] for r in train})

def random_generator(kind: str, tok, genres: list, layers: int):
    "A `LyricGenerator` over a randomly initialised float32 Gemma: the embedded tiny shape or gemma-2b's width."
    import torch
    from transformers import GemmaConfig, GemmaForCausalLM
    from lyricloop.embedded import embedded_config, embedded_gemma_config
    from lyricloop.config import LoopConfig
    from lyricloop.generate import LyricGenerator
    torch.manual_seed(0)
    if kind == 'embedded': cfg, defaults = embedded_gemma_config(len(tok), tok), embedded_config()
    else:
        cfg = GemmaConfig(vocab_size=len(tok), num_hidden_layers=layers, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                          eos_token_id=tok.eos_token_id, **WIDE)
        defaults = LoopConfig(model=dict(model_id='google/gemma-2b', template='structured'))
    model = GemmaForCausalLM(cfg).float().eval()
    model.generation_config.pad_token_id = tok.pad_token_id
    return LyricGenerator(model, tok, genres, defaults.model.template, defaults, kind)

def inner_model(model):
    "The transformers model whose forward `generate` calls (under a peft wrapper, if any)."
    return model.get_base_model() if hasattr(model, 'get_base_model') else model

class Clock:
    "Times one call: wall seconds, and when the model's second forward pass starts (the first token is chosen by then)."
    def __init__(self, model): self.model, self.calls = inner_model(model), []
    def __enter__(self):
        self.hook = self.model.register_forward_pre_hook(lambda m, a: self.calls.append(time.perf_counter()))
        self.t0 = time.perf_counter(); return self
    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.hook.remove()
        self.ttft = (self.calls[1] if len(self.calls) > 1 else self.t0 + self.seconds) - self.t0
        self.steps = len(self.calls)

CRAFT_MAP = 'Intro, Verse, Pre-Chorus, Chorus, Verse, Pre-Chorus, Chorus, Bridge, Chorus, Outro'

def requests(gen, n: int):
    from lyricloop.generate import SongRequest
    return [SongRequest(gen.genres[i % len(gen.genres)], MAPS[i % len(MAPS)], THEMES[i % len(THEMES)], seed=i) for i in range(n)]

def floor_generate(gen, reqs, new: int) -> int:
    "Plain sampling `model.generate` on the same prompts, exactly `new` new tokens per row; returns the new tokens (to a stop id)."
    import torch
    from transformers import GenerationConfig
    from lyricloop.generate import _sampling
    prompts = [gen.prompt_ids(*gen.check(r.genre, r.song_map), r.theme) for r in reqs]
    L, pad, dev = max(map(len, prompts)), gen.tok.pad_token_id, gen.model.device
    ids = torch.tensor([[pad] * (L - len(p)) + p for p in prompts], device=dev)
    att = torch.tensor([[0] * (L - len(p)) + [1] * len(p) for p in prompts], device=dev)
    s = _sampling(gen.cfg.generation)
    gc = GenerationConfig(do_sample=True, temperature=s['temperature'], top_p=s['top_p'], top_k=0, repetition_penalty=s['repetition_penalty'],
                          max_new_tokens=new, min_new_tokens=new, eos_token_id=gen.stop_ids, pad_token_id=pad)
    torch.manual_seed(0)
    with torch.no_grad(): out = gen.model.generate(input_ids=ids, attention_mask=att, generation_config=gc)
    return sum(next((i for i, t in enumerate(row) if t in gen.stop_ids), len(row)) for row in out[:, L:].tolist())

def free_generate(gen, reqs, new: int) -> int:
    """`generate_batch(mode='free', max_new_tokens=new)`, pinned to `new` tokens a row: `min_new_tokens` goes in through the run's
    generation settings (which `generate_batch` passes on to `GenerationConfig`), so a sampled stop id cannot end a song early."""
    g = gen.cfg.generation
    old = g.get('min_new_tokens')
    g['min_new_tokens'] = new
    try: return sum(s.new_tokens for s in gen.generate_batch(reqs, 'free', max_new_tokens=new, batch_size=len(reqs)))
    finally:
        if old is None: g.pop('min_new_tokens')
        else: g['min_new_tokens'] = old

def timed(gen, fn):
    "(seconds, time to first token, decode steps, new tokens) of `fn()` (which returns the new tokens it made)."
    with Clock(gen.model) as c: new = fn()
    return dict(s=c.seconds, ttft=c.ttft, steps=c.steps, new=new)

def bench_model(gen, a) -> dict:
    "Median measurements of floor / free / constrained for n=1 and n=8: {(n, row): dict}."
    from lyricloop.generate import SongRequest
    budgets, out = {'*': a.new}, {}
    for n in (1, 8):
        reqs = requests(gen, n)
        # warm-up: short songs (one section; 16 tokens) through every path
        gen.generate_batch([SongRequest(r.genre, 'Verse', r.theme, r.seed) for r in reqs], 'constrained', section_tokens={'*': 4}, batch_size=n)
        gen.generate_batch(reqs, 'free', max_new_tokens=16, batch_size=n)
        floor_generate(gen, reqs, 16)
        runs = {r: [] for r in ('floor', 'free', 'constrained')}
        for _ in range(a.repeats):
            c = timed(gen, lambda: sum(s.new_tokens for s in gen.generate_batch(reqs, 'constrained', section_tokens=budgets, batch_size=n, craft=False)))
            runs['constrained'].append(c)
            steps = c['steps']    # the constrained batch's generate steps (its longest song, with its end id)
            runs['free'].append(timed(gen, lambda: free_generate(gen, reqs, steps)))
            runs['floor'].append(timed(gen, lambda: floor_generate(gen, reqs, steps)))
        for r, ms in runs.items():
            med = {k: statistics.median(m[k] for m in ms) for k in ('s', 'ttft')}
            new, st = sorted(m['new'] for m in ms), sorted(m['steps'] for m in ms)
            out[n, r] = dict(med, new=statistics.median(new), new_range=(new[0], new[-1]), steps=statistics.median(st),
                             tps=statistics.median(m['new'] / m['s'] for m in ms),
                             row_steps=statistics.median(n * m['steps'] / m['s'] for m in ms), all_s=[m['s'] for m in ms])
            print(f"  {gen.name} n={n} {r:<11} " + ' '.join(f"{m['new']} tok {m['s']:.2f}s" for m in ms), flush=True)
    return out

def bench_craft(gen, a) -> dict:
    "Median of constrained-with-craft and free (pinned to the same steps) over n=4 songs of the 10-section `CRAFT_MAP`: {row: dict}."
    from lyricloop.generate import SongRequest
    reqs = [SongRequest(r.genre, CRAFT_MAP, r.theme, r.seed) for r in requests(gen, 4)]
    budgets = {'*': a.new} if gen.name in ('embedded', 'wide') else None      # a trained run: its own section budgets
    gen.generate_batch([SongRequest(r.genre, 'Verse', r.theme, r.seed) for r in reqs], 'constrained', section_tokens={'*': 8}, batch_size=4)
    runs = {'free': [], 'constrained + craft': []}
    for _ in range(a.repeats):
        c = timed(gen, lambda: sum(s.new_tokens for s in gen.generate_batch(reqs, 'constrained', section_tokens=budgets, batch_size=4)))
        runs['constrained + craft'].append(c)
        steps = c['steps']
        runs['free'].append(timed(gen, lambda: free_generate(gen, reqs, steps)))
    out = {r: dict(new=statistics.median(m['new'] for m in ms), steps=statistics.median(m['steps'] for m in ms),
                   s=statistics.median(m['s'] for m in ms), tps=statistics.median(m['new'] / m['s'] for m in ms)) for r, ms in runs.items()}
    for r, ms in runs.items(): print(f"  {gen.name} craft n=4 {r:<19} " + ' '.join(f"{m['new']} tok {m['s']:.2f}s" for m in ms), flush=True)
    return out

def profile(gen, a, top: int = 18):
    "cProfile of one constrained n=8 call; prints the top functions by own time."
    from lyricloop.generate import SongRequest
    reqs = requests(gen, 8)
    gen.generate_batch([SongRequest(r.genre, 'Verse', r.theme, r.seed) for r in reqs], 'constrained', section_tokens={'*': 4}, batch_size=8)
    pr = cProfile.Profile()
    t = time.perf_counter()
    pr.enable(); songs = gen.generate_batch(reqs, 'constrained', section_tokens={'*': a.new}, batch_size=8); pr.disable()
    wall = time.perf_counter() - t
    s = io.StringIO()
    st = pstats.Stats(pr, stream=s)
    from lyricloop.generate import SongMapProcessor, RowSampler
    names = {(f.__code__.co_filename, f.__code__.co_firstlineno): f.__qualname__ for f in (SongMapProcessor.__call__, RowSampler.__call__)}
    proc = {names[k[:2]]: v for k, v in st.stats.items() if k[:2] in names}
    st.sort_stats('tottime').print_stats(top)
    print(f"\ncProfile, {gen.name}, constrained n=8, {sum(x.new_tokens for x in songs)} new tokens, {wall:.2f} s under the profiler:")
    for name, (cc, nc, tt, ct, _) in proc.items():
        print(f"  {name}: {nc} calls, {ct:.2f} s cumulative ({ct / wall:.0%} of the call), {1e3 * ct / nc:.2f} ms per call")
    print('\n'.join(s.getvalue().splitlines()[:top + 12]))

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--only', default='embedded,wide', help='comma-separated random models to run: embedded, wide')
    ap.add_argument('--layers', type=int, default=2, help='decoder layers of the gemma-2b-wide model')
    ap.add_argument('--repeats', type=int, default=3, help='timed repeats per row (the table shows the median)')
    ap.add_argument('--threads', type=int, default=os.cpu_count(), help='torch threads (default: all cores)')
    ap.add_argument('--run', default=None, help="also a trained run's generator (LyricGenerator.from_run)")
    ap.add_argument('--new', type=int, default=40, help='body token budget per section (6 sections per song)')
    ap.add_argument('--profile', action='store_true', help='cProfile one constrained n=8 call of the first model')
    ap.add_argument('--craft-only', action='store_true', help='only the craft table (n=4, 10-section map)')
    a = ap.parse_args()
    warnings.filterwarnings('ignore')
    import torch, transformers
    from transformers.utils import logging
    logging.set_verbosity_error()
    torch.set_num_threads(a.threads)
    only = [m for m in a.only.split(',') if m]
    if bad := set(only) - {'embedded', 'wide'}: raise SystemExit(f"--only: unknown model(s) {', '.join(sorted(bad))}; choose embedded, wide")
    t0 = time.perf_counter()
    gens = []
    if only:
        tok, genres = sample_tokenizer()
        gens = [random_generator(k, tok, genres, a.layers) for k in only]
    if a.run:
        from lyricloop.generate import LyricGenerator
        gens.append(LyricGenerator.from_run(a.run))
    if not gens: raise SystemExit('nothing to run: give --only and/or --run')
    print(f"{os.cpu_count()} CPU cores ({torch.backends.cpu.get_cpu_capability()}), torch threads {a.threads} · load average "
          f"{os.getloadavg()[0]:.1f} · torch {torch.__version__} · transformers {transformers.__version__} · {a.repeats} repeat(s), median · "
          f"6-section maps, section budget {a.new} tokens · setup {time.perf_counter() - t0:.0f} s", flush=True)
    for g in gens:
        m, r = inner_model(g.model), requests(g, 1)[0]
        c = m.config
        print(f"  {g.name}: {sum(p.numel() for p in m.parameters()) / 1e6:.1f} M parameters, {c.num_hidden_layers} layers, hidden {c.hidden_size}, "
              f"MLP {c.intermediate_size}, vocabulary {c.vocab_size}, {next(m.parameters()).dtype}, template {g.template}, "
              f"prompt {len(g.prompt_ids(*g.check(r.genre, r.song_map), r.theme))} tokens", flush=True)
    if a.profile: profile(gens[0], a)
    C = {g.name: bench_craft(g, a) for g in gens}
    print(f"\n| model | n | row | new tokens | steps | s | tokens/s | constrained + craft / free tokens/s |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for name, res in C.items():
        for r, x in res.items():
            ratio = f"{x['tps'] / res['free']['tps']:.2f}x" if r != 'free' else ''
            print(f"| {name} | 4 | LyricLoop {r} | {x['new']:.0f} | {x['steps']:.0f} | {x['s']:.2f} | {x['tps']:,.0f} | {ratio} |")
    for name, res in C.items():
        q = res['constrained + craft']['tps'] / res['free']['tps']
        print(f"{'PASS' if q >= 0.5 else 'FAIL'}  {name}: constrained with craft >= 0.5x free tokens/s, n=4, 10-section map: {q:.2f}x")
    if a.craft_only: return
    R = {g.name: bench_model(g, a) for g in gens}
    print(f"\n| model | n | row | new tokens | steps | s | tokens/s | time to first token (ms) | constrained / free tokens/s |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for name, res in R.items():
        for n in (1, 8):
            for r in ('floor', 'free', 'constrained'):
                x = res[n, r]
                lo, hi = x['new_range']
                new = f"{x['new']:.0f}" + (f" ({lo}–{hi})" if lo != hi else '')
                ratio = f"{x['tps'] / res[n, 'free']['tps']:.2f}x" if r == 'constrained' else ''
                label = 'model.generate (sampling)' if r == 'floor' else 'LyricLoop constrained (map only)' if r == 'constrained' else f'LyricLoop {r}'
                print(f"| {name} | {n} | {label} | {new} | {x['steps']:.0f} | {x['s']:.2f} | {x['tps']:,.0f} | {1e3 * x['ttft']:,.0f} | {ratio} |")
    print()
    verdict = lambda ok: 'PASS' if ok else 'FAIL'
    for name, res in R.items():
        for n in (1, 8):
            q = res[n, 'constrained']['tps'] / res[n, 'free']['tps']
            qs = res[n, 'constrained']['row_steps'] / res[n, 'free']['row_steps']
            print(f"{verdict(q >= 0.9)}  {name}: constrained >= 0.9x free tokens/s, n={n}: {q:.2f}x  "
                  f"(per batch row-step, padding included: {qs:.2f}x)")
        b = res[8, 'constrained']['tps'] / res[1, 'constrained']['tps']
        print(f"{verdict(b >= 2.5)}  {name}: constrained n=8 >= 2.5x one song's tokens/s: {b:.2f}x")

if __name__ == '__main__': main()
