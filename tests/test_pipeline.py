"The pipeline run into the same folder again: every stage reused; a changed setting redoes that stage and the ones after it."
import json, shutil
import pytest
from lyricloop.pipeline import run_pipeline, Manifest, STAGES
from lyricloop.embedded import embedded_config, EMBEDDED_RECIPE

def _args(res): return dict(base_recipe={**EMBEDDED_RECIPE, 'epochs': 1}, base_dir=res['root']/'base', n_per_genre=1, max_new_tokens=96, progress=False)
CFG = dict(data=dict(per_genre=40), training=dict(max_steps=40, max_length=384, eval_steps=20, save_steps=40))

@pytest.fixture
def pipeline_copy(pipeline_run, tmp_path):
    "The session's pipeline folder copied: these tests rerun stages into it, and other tests read the original meanwhile."
    root = shutil.copytree(pipeline_run['root'], tmp_path/'pipeline', ignore=shutil.ignore_patterns('.*lock*'))
    return dict(pipeline_run, root=root, run=root/'run')

def test_rerun_reuses_every_stage(pipeline_run, pipeline_copy):
    assert set(Manifest(pipeline_run['root']).keys) == set(STAGES)    # every stage finished (by this session's first caller: the folder is shared)
    again = run_pipeline(pipeline_copy['root'], embedded_config(**CFG), **_args(pipeline_copy))
    assert again['reused'] == list(STAGES[:-1])          # figures are redrawn
    assert again['songs'] == pipeline_run['songs'] and again['train'] == pipeline_run['train']
    assert [s['genre'] for s in pipeline_run['songs']] == embedded_config().data.genres   # one song per genre, EDM included
    assert all(s['song_map'] == s['requested'] for s in pipeline_run['songs'])

def test_a_changed_setting_redoes_the_later_stages(pipeline_copy):
    res = run_pipeline(pipeline_copy['root'], embedded_config(**CFG), **_args(pipeline_copy), until='songs', theme='a river')
    assert res['reused'] == ['prepare', 'base', 'train']
    assert set(Manifest(pipeline_copy['root']).keys) == {'prepare', 'base', 'train', 'songs'}   # evaluate is out of date now
    assert json.loads((pipeline_copy['run']/'songs.json').read_text())[0]['theme'] == 'a river'
