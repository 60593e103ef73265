"""Training and evaluation in two CPU processes (DDP over gloo) through `accelerate launch` and `--processes 2`: one run folder,
the same adapter as one process with the same global batch, a killed worker and the resume, evaluation split across processes,
QLoRA, and the `--cpu` launch that starts one process only."""
import json, os, signal, subprocess, time
from pathlib import Path
import psutil, pytest
from conftest import run, tool
from lyricloop.embedded import embedded_config
from lyricloop.train import free_port, last_checkpoint
from lyricloop.config import RunDir

STEPS = 6                                  # a checkpoint every 2 steps: the kill test stops a run after checkpoint-2
ENV = dict(os.environ, OMP_NUM_THREADS='1', LYRICLOOP_LOG_EVERY='0')   # one thread per process (as the launcher sets); every bar update logged
TIMEOUT = 300                              # no run here should take more than a minute on 2 cores: a hang fails, it does not stall
# Why the tolerance on adapter weights (magnitudes up to ~3): the all-reduce sums the two processes' gradients where one process adds
# its two micro-batches' gradients in place — a + b either way, exact in IEEE arithmetic for two terms — so the adapters come out
# identical here (measured: max difference 0.0). 1e-5 leaves room for a BLAS that orders a reduction differently; a wrong split of the
# work fails it by far: before `eval_on_start`, each process trained its own copy (DDP never wrapped the model) and the adapter was
# 3.6e-3 off after 4 steps.
TOL = 1e-5

@pytest.fixture(scope='module')
def setup(pipeline_run, tmp_path_factory):
    "The session's prepared sample and base; a 2-process config (batch 4) and the 1-process one with the same global batch (4 x 2)."
    d = tmp_path_factory.mktemp('ddp')
    (d/'data').symlink_to(pipeline_run['data'])
    cfg = embedded_config(model=dict(model_id=str(pipeline_run['base'])), training=dict(per_device_train_batch_size=4, max_length=384, eval_steps=2,
                                                                                           save_steps=2, logging_steps=1, learning_rate=1e-3))
    cfg.save(d/'two.json'); cfg.replace(training=dict(gradient_accumulation_steps=2)).save(d/'one.json')
    return d

def accelerate(*args, processes=2):
    "`accelerate launch` of `lyricloop *args` in `processes` processes on a free local port (torchrun's launcher: `--multi_gpu`)."
    return [tool('accelerate'), 'launch', '--multi_gpu', '--num_processes', str(processes), '--num_machines', '1', '--mixed_precision', 'no',
            '--dynamo_backend', 'no', '--main_process_port', str(free_port()), '-m', 'lyricloop.cli', *args]

def train_args(d, out, cfg, *extra):
    return ['train', '--data', str(d/'data'), '--out', str(out), '--config', str(d/cfg), '--max-steps', str(STEPS), *extra]

def summary(out): return json.loads((Path(out)/'train_summary.json').read_text())
def history(out, split): return [(r['step'], r['loss']) for r in json.loads((Path(out)/'history.json').read_text()) if r['split'] == split]
def adapter_gap(a, b):
    from safetensors.torch import load_file
    x, y = load_file(f'{a}/adapter/adapter_model.safetensors'), load_file(f'{b}/adapter/adapter_model.safetensors')
    assert x.keys() == y.keys()
    return max(float((x[k] - y[k]).abs().max()) for k in x)

@pytest.fixture(scope='module')
def two(setup):
    "A run in two processes, through accelerate launch itself."
    r = run(accelerate(*train_args(setup, setup/'two', 'two.json')), check=True, env=ENV, timeout=TIMEOUT)
    return setup/'two', r

@pytest.fixture(scope='module')
def one(setup):
    "The same global batch in one process: batch 4, gradient accumulation 2."
    run([tool('lyricloop'), *train_args(setup, setup/'one', 'one.json', '--quiet')], check=True, env=ENV, timeout=TIMEOUT)
    return setup/'one'

def test_two_processes_write_one_run(two):
    out, r = two
    s = summary(out)
    assert (s['processes'], s['global_batch'], s['steps']) == (2, 8, STEPS)
    assert json.loads((out/'provenance.json').read_text())['processes'] == 2
    assert (out/'adapter'/'adapter_model.safetensors').exists() and not list(out.rglob('*.tmp'))
    for ck in (out/'checkpoints').glob('checkpoint-*'):             # every process wrote its RNG state; the main one the rest
        assert {'rng_state_0.pth', 'rng_state_1.pth', 'trainer_state.json', 'adapter_model.safetensors'} <= {p.name for p in ck.iterdir()}
    assert [st for st, _ in history(out, 'train')] == list(range(1, STEPS + 1))      # one history, each step once
    assert r.stdout.count('trained 6 steps') == 1 and 'in 2 processes' in r.stdout     # one report
    bar = [l for l in r.stderr.splitlines() if l.startswith('fine-tuning:')]
    assert [l.split('|')[2].split()[0] for l in bar] == [f'{k}/{STEPS}' for k in range(STEPS + 1)], r.stderr   # one bar
    assert 'Traceback' not in r.stderr and '[rank1]' not in r.stderr, r.stderr
    p0, p1 = s['per_process']                                       # each process trained on its own half of every global batch
    assert p0['batches'] == p1['batches'] == STEPS and p0['sequences'] == p1['sequences'] == 4 * STEPS
    for a, b in zip(p0['first_batches'], p1['first_batches']): assert len(a) == len(b) == 4 and not set(a) & set(b)

def test_same_result_as_one_process(two, one, pipeline_run):
    out, _ = two
    s1, s2 = summary(one), summary(out)
    assert (s1['processes'], s1['global_batch']) == (1, 8)
    seen = s1['per_process'][0]['first_batches']                    # one process: micro-batches 2k and 2k+1 make step k
    for k, (a, b) in enumerate(zip(*[p['first_batches'] for p in s2['per_process']])):
        if 2 * k + 1 < len(seen): assert (a, b) == (seen[2 * k], seen[2 * k + 1]), k   # process i takes micro-batch i of each step
    assert adapter_gap(one, out) <= TOL
    for (st, x), (st2, y) in zip(history(one, 'train'), history(out, 'train')): assert st == st2 and x == pytest.approx(y, rel=1e-5)
    # the validation split fills whole rounds of 2 processes x 4 songs, so no process repeats a song to even up the last round
    # (accelerate's `even_batches`, which would change that batch's loss: see the Training docs)
    from datasets import load_from_disk
    assert len(load_from_disk(str(Path(pipeline_run['data'])/'validation'))) % 8 == 0
    v1, v2 = history(one, 'validation'), history(out, 'validation')
    assert [st for st, _ in v1] == [st for st, _ in v2] == [0, 2, 4, 6]
    for (_, x), (_, y) in zip(v1, v2): assert x == pytest.approx(y, rel=1e-5)

def _wait(pred, p, what, limit=TIMEOUT):
    t = time.time()
    while not pred():
        assert p.poll() is None, f"the run ended before {what}"
        assert time.time() - t < limit, f"no {what} after {limit}s"
        time.sleep(0.05)

def test_kill_one_worker_then_resume(setup, two, tmp_path):
    out = setup/'killed'
    cmd = [tool('lyricloop'), *train_args(setup, out, 'two.json', '--quiet', '--processes', '2')]
    err = tmp_path/'stderr'
    with open(err, 'w') as e: p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=e, env=ENV, start_new_session=True)
    try:
        _wait(lambda: last_checkpoint(RunDir(out), 2) is not None, p, 'checkpoint-2')
        workers = {int(c.environ().get('RANK', -1)): c for c in psutil.Process(p.pid).children(recursive=True) if 'RANK' in c.environ()}
        assert sorted(workers) == [0, 1]
        workers[1].send_signal(signal.SIGKILL)
        code = p.wait(timeout=120)                                   # the other process ends too: no hang
    finally:
        if p.poll() is None: os.killpg(p.pid, signal.SIGKILL)
    text = err.read_text()
    assert code == 2 and 'process 0 of 2 stopped' in text and 'rerun with --resume' in text, text
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in workers.values())
    # nothing half-written: no adapter or summary; the JSON files whole; a checkpoint is complete or never resumed from
    assert not (out/'adapter'/'adapter_model.safetensors').exists() and not (out/'train_summary.json').exists()
    for f in ('config.json', 'provenance.json', 'history.json'): json.loads((out/f).read_text())
    done = last_checkpoint(RunDir(out), 2)
    assert done is not None and int(done.name.split('-')[1]) < STEPS
    r = run([tool('lyricloop'), *train_args(setup, out, 'two.json', '--quiet', '--processes', '2', '--resume')], check=True, env=ENV, timeout=TIMEOUT)
    assert f'resumed from {done.name}' in r.stdout and summary(out)['processes'] == 2
    assert [st for st, _ in history(out, 'train')] == list(range(1, STEPS + 1))      # no step lost or repeated
    assert adapter_gap(out, two[0]) <= TOL                                           # where the uninterrupted run ends

def test_evaluate_in_two_processes(two, tmp_path):
    "Two processes write the same songs and metrics as one; each process writes whole batches (12 requests per mode: 8 + 4)."
    import shutil
    out = tmp_path/'run'; shutil.copytree(two[0], out, ignore=shutil.ignore_patterns('checkpoints'))
    s = summary(out); s['section_tokens'] = {k: 8 for k in s['section_tokens']}   # short sections: the test is about the split, not songs
    (out/'train_summary.json').write_text(json.dumps(s))
    ev = lambda name, *extra: run([tool('lyricloop'), 'evaluate', '--run', str(out), '--n-per-genre', '2', '--max-new-tokens', '24', '--quiet',
                                   '--out', str(tmp_path/f'{name}.json'), *extra], check=True, env=ENV, timeout=TIMEOUT)
    r2, r1 = ev('two', '--processes', '2'), ev('one')
    m1, m2 = (json.loads((tmp_path/f'{n}.json').read_text()) for n in ('one', 'two'))
    assert {k: v for k, v in m1.items() if k != 'seconds'} == {k: v for k, v in m2.items() if k != 'seconds'}
    assert (tmp_path/'one_songs.json').read_text() == (tmp_path/'two_songs.json').read_text()
    assert r2.stdout == r1.stdout.replace('one.json', 'two.json')                    # one report
    assert len(json.loads((tmp_path/'two_songs.json').read_text())['tuned-constrained']) == 12

def test_qlora_in_two_processes(setup, tmp_path):
    "QLoRA under DDP on the CPU: the base in 4-bit NF4 (bitsandbytes), the LoRA weights trained and averaged across both processes."
    from lyricloop.environment import can_load_4bit
    ok, why = can_load_4bit('cpu')
    if not ok: pytest.skip(f"bitsandbytes cannot run NF4 on this CPU: {why}")
    out = tmp_path/'q'
    run([tool('lyricloop'), 'train', '--data', str(setup/'data'), '--out', str(out), '--config', str(setup/'two.json'), '--max-steps', '2',
         '--four-bit', '--quiet', '--processes', '2'], check=True, env=ENV, timeout=TIMEOUT)
    from lyricloop.config import LoopConfig
    s = summary(out)
    assert LoopConfig.load(out/'config.json').model.load_in_4bit and s['processes'] == 2 and (out/'adapter'/'adapter_model.safetensors').exists()
    assert [p['batches'] for p in s['per_process']] == [2, 2]

def test_accelerate_cpu_flag_starts_one_process_and_is_refused(setup, tmp_path):
    "accelerate 1.16 starts CPU processes only through mpirun: `--cpu --num_processes 2` runs one process, which says so."
    cmd = [tool('accelerate'), 'launch', '--cpu', '--num_processes', '2', '--num_machines', '1', '--mixed_precision', 'no', '--dynamo_backend', 'no',
           '--main_process_port', str(free_port()), '-m', 'lyricloop.cli', *train_args(setup, tmp_path/'c', 'two.json', '--quiet')]
    r = run(cmd, env=ENV, timeout=TIMEOUT)
    assert r.returncode != 0 and 'lyricloop train: error: accelerate launch --cpu started one process' in r.stderr, r.stderr   # accelerate exits 1
    assert not (tmp_path/'c').exists()

FSDP_GATHER = r'''
"Under torchrun on the CPU: shard a LoRA model with FSDP2 (`fully_shard`, gloo), gather its adapter with `_gathered_adapter`, save it from process 0."
import os, sys, json, torch, torch.distributed as dist
from types import SimpleNamespace
from pathlib import Path
dist.init_process_group('gloo')
from torch.distributed.fsdp import fully_shard
from peft import get_peft_model, LoraConfig
from lyricloop.environment import load_model_and_tokenizer
from lyricloop.train import _gathered_adapter, _save_adapter
base, out = sys.argv[1], Path(sys.argv[2])
model, tok = load_model_and_tokenizer(base, load_in_4bit=False, device='cpu')
model = get_peft_model(model, LoraConfig(r=4, target_modules=['q_proj', 'v_proj'], task_type='CAUSAL_LM'))
torch.manual_seed(0)
with torch.no_grad():
    for n, p in model.named_parameters():
        if p.requires_grad: p.copy_(torch.randn_like(p))           # the same values in both processes (same seed)
whole = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
assert _gathered_adapter(SimpleNamespace(is_deepspeed_enabled=False, model=model)) is None   # unsharded: nothing to gather
for layer in model.base_model.model.model.layers: fully_shard(layer)
fully_shard(model)
shard = next(p for p in model.parameters() if p.requires_grad)
gathered = _gathered_adapter(SimpleNamespace(is_deepspeed_enabled=False, model=model))   # every process takes part in the all-gather
local = shard.to_local().shape[0]
if dist.get_rank() == 0:
    assert gathered.keys() == whole.keys()
    gap = max(float((gathered[k] - whole[k]).abs().max()) for k in whole)
    _save_adapter(model, tok, out/'adapter', out, gathered)
    from peft import PeftModel
    fresh, _ = load_model_and_tokenizer(base, load_in_4bit=False, device='cpu')
    saved = {n: p for n, p in PeftModel.from_pretrained(fresh, out/'adapter').named_parameters() if 'lora_' in n}
    saved_gap = max(float((saved[k] - whole[k]).abs().max()) for k in whole)
    print(json.dumps(dict(world=dist.get_world_size(), tensors=len(whole), local_rows=local, full_rows=shard.shape[0], gap=gap, saved_gap=saved_gap)))
dist.destroy_process_group()
'''

def test_adapter_gathered_from_fsdp_shards(pipeline_run, tmp_path):
    """FSDP2 (torch's `fully_shard`, gloo, 2 CPU processes) holds half of each LoRA weight per process; `_gathered_adapter` rebuilds them whole
    in every process, and the adapter process 0 saves from them loads back with the same weights (accelerate's FSDP launch itself
    needs GPUs: Training's `gpu` cell runs it; this is the part of it that runs here)."""
    (tmp_path/'gather.py').write_text(FSDP_GATHER)
    r = run([tool('python'), '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', str(free_port()), str(tmp_path/'gather.py'),
             str(pipeline_run['base']), str(tmp_path/'out')], check=True, env=ENV, timeout=TIMEOUT)
    res = json.loads([l for l in r.stdout.splitlines() if l.startswith('{')][-1])
    assert res['world'] == 2 and res['local_rows'] * 2 == res['full_rows'] and res['tensors'] == 16, res   # really sharded
    assert res['gap'] == 0.0 and res['saved_gap'] == 0.0, res
