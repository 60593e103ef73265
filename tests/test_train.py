"Training end to end on the embedded default: adapter + history, exact resume after a kill, bad input, accelerate."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import run, tool
from lyricloop.config import LoopConfig
from lyricloop.embedded import embedded_config

STEPS = 12

@pytest.fixture(scope='session')
def setup(pipeline_run, tmp_path_factory):
    "The session's prepared sample and base, and a short-run config for the CLI runs here."
    d = tmp_path_factory.mktemp('train')
    (d/'data').symlink_to(pipeline_run['data'])
    base = pipeline_run['base']
    cfg = embedded_config(model=dict(model_id=str(base)), training=dict(per_device_train_batch_size=4, max_length=384, eval_steps=4, save_steps=4, logging_steps=1,
                                                                           learning_rate=1e-3))   # 12 steps from a 1-epoch base: a gentler rate
    cfg.save(d/'cfg.json')
    return d, base

def train_cmd(d, out, *extra):
    return [tool('lyricloop'), 'train', '--data', str(d/'data'), '--out', str(out), '--config', str(d/'cfg.json'),
            '--max-steps', str(STEPS), '--quiet', *extra]

def train_losses(run_dir):
    return [(r['step'], r['loss']) for r in json.loads((Path(run_dir)/'history.json').read_text()) if r['split'] == 'train']

@pytest.fixture(scope='session')
def reference(setup):
    "An uninterrupted run, its --out given relative to the working folder (as `make demo` gives runs/demo)."
    d, _ = setup
    r = run(train_cmd(d, Path('ref')), cwd=d, check=True)
    return d/'ref', r.stdout

def test_run_writes_adapter_history_config(reference):
    ref, out = reference
    files = {p.name for p in (ref/'adapter').iterdir()}
    assert 'adapter_model.safetensors' in files and 'adapter_config.json' in files and not any(f.endswith(('.bin', '.pt', '.pkl')) for f in files)
    assert [s for s, _ in train_losses(ref)] == list(range(1, STEPS + 1))
    evals = [r['loss'] for r in json.loads((ref/'history.json').read_text()) if r['split'] == 'validation']
    assert evals[0] > evals[-1], evals
    assert LoopConfig.load(ref/'config.json').training.max_steps == STEPS
    assert 'validation loss' in out
    assert json.loads((ref/'adapter'/'adapter_config.json').read_text())['base_model_name_or_path'] == 'base'   # its own base/, wherever the run goes

def test_resume_after_kill_loses_and_repeats_no_step(setup, reference):
    d, _ = setup
    out = d/'killed'
    p = subprocess.Popen(train_cmd(d, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 600
    while not (out/'checkpoints'/'checkpoint-8'/'trainer_state.json').exists():
        assert p.poll() is None, "training ended before it could be interrupted"
        assert time.time() < deadline
        time.sleep(0.1)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert not (out/'adapter'/'adapter_model.safetensors').exists()
    r = run(train_cmd(d, out, '--resume'), check=True)
    assert 'resumed from checkpoint-' in r.stdout
    steps = [s for s, _ in train_losses(out)]
    assert steps == list(range(1, STEPS + 1)), steps          # every step once: none lost, none repeated
    state = json.loads((out/'checkpoints'/f'checkpoint-{STEPS}'/'trainer_state.json').read_text())
    assert state['global_step'] == STEPS
    ref = dict(train_losses(reference[0]))
    for s, loss in train_losses(out):                          # and the same steps as an uninterrupted run
        assert loss == pytest.approx(ref[s], rel=1e-3, abs=1e-3), (s, loss, ref[s])

def _fails(cmd, msg, out):
    r = run(cmd)
    assert r.returncode == 2 and 'Traceback' not in r.stderr and msg in r.stderr, r.stderr
    assert not any(Path(out).glob('checkpoints/checkpoint-*'))

def test_bad_inputs_fail_before_training(setup, tmp_path):
    d, base = setup
    _fails(train_cmd(d, tmp_path/'a', '--model', str(tmp_path/'no-model')), 'no such model directory', tmp_path/'a')
    _fails([tool('lyricloop'), 'train', '--data', str(tmp_path), '--out', str(tmp_path/'b'), '--model', str(base)], 'not a prepared dataset', tmp_path/'b')
    _fails(train_cmd(d, tmp_path/'c', '--max-length', '16'), 'max_length=16 is not longer than the longest prompt', tmp_path/'c')
    (tmp_path/'d').mkdir(); LoopConfig(model=dict(model_id='google/gemma-2b-it')).save(tmp_path/'d'/'config.json')
    _fails(train_cmd(d, tmp_path/'d'), 'holds a different run', tmp_path/'d')

def test_accelerate_launch_one_cpu_process(setup, tmp_path):
    d, _ = setup
    cmd = [tool('accelerate'), 'launch', '--cpu', '--num_processes', '1', '--num_machines', '1', '--mixed_precision', 'no',
           '--dynamo_backend', 'no', '-m', 'lyricloop.cli', *train_cmd(d, tmp_path/'acc')[1:]]
    cmd[cmd.index('--max-steps') + 1] = '2'
    run(cmd, check=True)
    assert (tmp_path/'acc'/'adapter'/'adapter_model.safetensors').exists()

def test_qlora_4bit_on_cpu_end_to_end(setup, tmp_path):
    "The embedded model trained in 4-bit NF4 on the CPU through the CLI: adapter saved, reloaded in 4-bit, writes the requested map."
    import bitsandbytes as bnb
    from lyricloop.environment import can_load_4bit
    from lyricloop.generate import LyricGenerator
    ok, why = can_load_4bit('cpu')
    if not ok: pytest.skip(f"bitsandbytes cannot run NF4 on this CPU: {why}")
    d, _ = setup
    out = tmp_path/'q'
    r = run([tool('lyricloop'), 'train', '--data', str(d/'data'), '--out', str(out), '--config', str(d/'cfg.json'), '--max-steps', '4',
             '--four-bit', '--quiet'], check=True)
    assert LoopConfig.load(out/'config.json').model.load_in_4bit and (out/'adapter'/'adapter_model.safetensors').exists()
    gen = LyricGenerator.from_run(out, device='cpu')
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in gen.model.modules())          # reloaded in 4-bit
    song, = gen.generate('Rock', 'Verse, Chorus, Outro', seed=1)
    assert song.song_map == ['Verse', 'Chorus', 'Outro'] and song.text
    bad = run([tool('lyricloop'), 'train', '--data', str(d/'data'), '--out', str(tmp_path/'x'), '--four-bit', '--no-four-bit'])
    assert bad.returncode == 2 and 'contradict' in bad.stderr
