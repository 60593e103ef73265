"Bad configuration input fails with a clear error naming the field."
import json
import pytest
from lyricloop.config import LoopConfig, LyricLoopError, RunDir

@pytest.mark.parametrize('kw, exc, field', [
    (dict(genres=['Pop', 'Jazz']), LyricLoopError, "genres: unknown genre 'Jazz'"),
    (dict(lora_r=0), LyricLoopError, 'lora_r'),
    (dict(lora_r=-4), LyricLoopError, 'lora_r'),
    (dict(lora_r=8.0), TypeError, 'lora_r must be int'),
    (dict(packing='yes'), TypeError, 'packing must be bool'),
    (dict(split=(0.7, 0.2, 0.2)), LyricLoopError, 'split: fractions must sum to 1'),
    (dict(split=(0.5, 0.5)), LyricLoopError, 'split: needs 3'),
    (dict(lora_dropout=1.0), LyricLoopError, 'lora_dropout'),
    (dict(per_genre=0), LyricLoopError, 'per_genre'),
    (dict(top_p=1.5), LyricLoopError, 'top_p'),
    (dict(template='nope'), LyricLoopError, 'template'),
    (dict(model_id=''), LyricLoopError, 'model_id'),
    (dict(tag_to_genre={}), LyricLoopError, 'tag_to_genre'),
    (dict(learning_rate=0), LyricLoopError, 'learning_rate'),
])
def test_bad_values_name_the_field(kw, exc, field):
    with pytest.raises(exc, match=field.replace('(', r'\(').replace(')', r'\)')):
        LoopConfig(**kw)

def test_errors_are_value_errors_for_callers():
    with pytest.raises(ValueError): LoopConfig(seed=-1)

def test_json_round_trip_and_unknown_keys(tmp_path):
    cfg = LoopConfig(genres=['Rock'], lora_alpha=8, split=[0.9, 0.05, 0.05])
    p = cfg.save(tmp_path/'run'/'config.json')
    assert LoopConfig.load(p) == cfg
    d = json.loads(p.read_text()); d['lora_rr'] = 3
    p.write_text(json.dumps(d))
    with pytest.raises(LyricLoopError, match='lora_rr'): LoopConfig.load(p)
    p.write_text('{not json')
    with pytest.raises(LyricLoopError, match='not valid JSON'): LoopConfig.load(p)
    with pytest.raises(LyricLoopError, match='no such config'): LoopConfig.load(tmp_path/'missing.json')

def test_run_dir_layout(tmp_path):
    run = RunDir(tmp_path/'r').create()
    for d in (run.checkpoints, run.adapter, run.figures): assert d.is_dir()
    assert run.config.name == 'config.json' and run.history.name == 'history.json'
