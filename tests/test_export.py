"`lyricloop export` on the session's trained run: a merged model that plain transformers loads and that writes the run's songs, an adapter for peft, pushes refused in one line."
import json, os, re, sys
import pytest
from conftest import run, tool
from lyricloop.config import LoopConfig
from lyricloop.generate import LyricGenerator
from lyricloop.sections import song_map

REQUEST = dict(genre='Country', song_map='Verse, Chorus, Verse, Chorus, Bridge, Chorus', theme='a dirt road home', seed=4)

@pytest.fixture(scope='module')
def run_song(pipeline_run):
    return LyricGenerator.from_run(pipeline_run['run']).generate(**REQUEST)[0].text

def test_merged_export_loads_with_plain_transformers_and_writes_the_same_song(pipeline_run, run_song, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    out = tmp_path/'merged'
    r = run([tool('lyricloop'), 'export', '--run', str(pipeline_run['run']), '--out', str(out), '--merge'], check=True)
    assert 'wrote the merged model' in r.stdout
    assert not (out/'adapter_config.json').exists() and (out/'model.safetensors').exists() and (out/'README.md').exists()
    model, tok = AutoModelForCausalLM.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    info = json.loads((out/'lyricloop.json').read_text())
    cfg = LoopConfig.from_dict(info['config'])
    gen = LyricGenerator(model, tok, cfg.data.genres, cfg.model.template, cfg, section_tokens=info['section_tokens'], craft=info['craft'])   # what load_generator reads from the export
    assert gen.generate(**REQUEST)[0].text == run_song
    free = [LyricGenerator.from_run(pipeline_run['run']).generate(**REQUEST, mode='free', max_new_tokens=80)[0].text,
            gen.generate(**REQUEST, mode='free', max_new_tokens=80)[0].text]
    assert free[0] == free[1]

def test_merged_model_card_snippet_writes_a_song_with_plain_transformers(pipeline_run, tmp_path):
    "The card's Python, run as a user pastes it: it prompts the model exactly as LyricLoop does and gets a song with section headers."
    from lyricloop.export import CARD_REQUEST
    out = tmp_path/'merged'
    run([tool('lyricloop'), 'export', '--run', str(pipeline_run['run']), '--out', str(out), '--merge'], check=True)
    card = (out/'README.md').read_text()
    assert 'base/' not in card and 'carried in this folder' not in card and 'merged into these weights' in card
    code = re.search(r'```python\n(.*?)```', card, re.S)[1]
    assert 'lyricloop' not in code.replace(str(out), '')                                   # plain transformers, nothing of ours
    r = run([sys.executable, '-c', code + "\nimport json; print('PROMPT_IDS', json.dumps(inputs['input_ids'][0].tolist()))"], cwd=tmp_path, check=True, timeout=600)
    song, ids = r.stdout.split('PROMPT_IDS')
    genre = json.loads((out/'lyricloop.json').read_text())['config']['data']['genres'][0]
    assert json.loads(ids) == LyricGenerator.from_run(pipeline_run['run']).prompt_ids(genre, CARD_REQUEST['song_map'], CARD_REQUEST['theme'])
    assert song_map(song) and len(song.strip().splitlines()) > 2, song

def test_adapter_export_loads_with_peft_and_through_load_generator(pipeline_run, run_song, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM
    from lyricloop.export import load_generator
    out = tmp_path/'adapter'
    run([tool('lyricloop'), 'export', '--run', str(pipeline_run['run']), '--out', str(out)], check=True)
    info = json.loads((out/'lyricloop.json').read_text())
    assert (out/'adapter_model.safetensors').exists() and not info['merged']
    assert info['base_model'] == 'base' and (out/'base'/'config.json').exists()      # the embedded base travels with the adapter
    PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(f"{out}/{info['base_model']}"), out)   # as its model card says
    assert f"from_pretrained(f'{{path}}/base'), path)" in (out/'README.md').read_text()
    assert load_generator(out).generate(**REQUEST)[0].text == run_song

def test_export_refuses_to_overwrite_and_replaces_with_overwrite(pipeline_run, tmp_path):
    out = tmp_path/'adapter'; out.mkdir(); (out/'keep.txt').write_text('mine')
    r = run([tool('lyricloop'), 'export', '--run', str(pipeline_run['run']), '--out', str(out)])
    assert r.returncode == 2 and 'already exists' in r.stderr and (out/'keep.txt').exists()
    run([tool('lyricloop'), 'export', '--run', str(pipeline_run['run']), '--out', str(out), '--overwrite'], check=True)
    assert not (out/'keep.txt').exists() and (out/'adapter_config.json').exists()
    assert [p.name for p in tmp_path.iterdir()] == ['adapter']                      # no temporary folder left beside it

@pytest.mark.parametrize('env, msg', [({'HF_HUB_OFFLINE': '1'}, 'HF_HUB_OFFLINE is set'),
                                      ({'HF_HUB_OFFLINE': '0', 'HF_TOKEN': ''}, 'no Hugging Face token')])
def test_push_without_hub_access_is_one_line_and_nothing_written(pipeline_run, tmp_path, env, msg):
    out = tmp_path/'x'
    r = run([tool('lyricloop'), 'export', '--run', str(pipeline_run['run']), '--out', str(out), '--push', 'you/lyricloop'],
            env={**os.environ, 'HF_HOME': str(tmp_path/'hf'), **env})
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and msg in r.stderr and not out.exists()

def test_export_of_a_run_without_adapter_is_one_line(tmp_path):
    r = run([tool('lyricloop'), 'export', '--run', str(tmp_path), '--out', str(tmp_path/'x')])
    assert r.returncode == 2 and 'no adapter in this run' in r.stderr and len(r.stderr.strip().splitlines()) == 1
