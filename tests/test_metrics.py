"Evaluation end to end, and each metric on hand-made inputs with known answers."
import json
import pytest
from conftest import run, tool
from lyricloop.config import LoopConfig
from lyricloop.data import prepare_dataset
from lyricloop.sample import sample_csv
from lyricloop.tiny import build_embedded_model, embedded_config, TINY_RECIPE
from lyricloop.train import train
from lyricloop.metrics import structure_score, rhyme_density, craft, distinct_n, repeated_line_rate, line_syllables, rhymes

def test_known_answers():
    assert structure_score(['Verse', 'Chorus', 'Bridge'], ['Verse', 'Chorus', 'Bridge']) == dict(exact=True, similarity=1.0)
    assert structure_score(['Verse', 'Chorus', 'Bridge'], ['Verse', 'Bridge'])['similarity'] == pytest.approx(2 / 3)   # one missing
    assert structure_score(['Verse', 'Chorus'], ['Chorus', 'Verse'])['similarity'] == 0.0
    aabb = ['walking in the rain', 'dancing through the pain', 'hold me in the light', 'all through the night']
    assert rhyme_density(aabb) == 1.0 and rhyme_density(['one', 'two', 'three', 'four']) == 0.0
    assert rhymes('fire', 'desire') and not rhymes('fire', 'fire') and not rhymes('rain', 'night')
    assert distinct_n('a b a b', 2) == pytest.approx(2 / 3) and repeated_line_rate(['x', 'y', 'x']) == pytest.approx(1 / 3)
    assert line_syllables('beautiful morning') == 5
    c = craft('[Verse 1]\n' + '\n'.join(aabb))
    assert c['rhyme_density'] == 1.0 and c['repeated_line_rate'] == 0.0

def test_evaluate_cli_writes_metrics_and_tuned_beats_base(tmp_path_factory):
    d = tmp_path_factory.mktemp('eval')
    prepare_dataset(sample_csv(), d/'data', LoopConfig(per_genre=40), progress=False)
    base = build_embedded_model(d/'data', d/'base', recipe={**TINY_RECIPE, 'epochs': 1}, progress=False)
    train(d/'data', d/'run', embedded_config(model_id=str(base), max_steps=40, max_length=384, eval_steps=20, save_steps=40), progress=False)
    r = run([tool('lyricloop'), 'evaluate', '--run', str(d/'run'), '--n-per-genre', '1', '--max-new-tokens', '96', '--quiet'], check=True)
    assert 'perplexity base' in r.stdout
    m = json.loads((d/'run'/'metrics.json').read_text())
    assert set(m['perplexity']) == {'Pop', 'Rap', 'Rock', 'R&B', 'Country'}
    for g, p in m['perplexity'].items(): assert p['tuned'] < p['base'], (g, p)          # same test texts for both
    assert set(m['generation']) == {'human', 'base-free', 'tuned-free', 'tuned-constrained'}
    assert all(v['exact_map'] == 1.0 for v in m['generation']['tuned-constrained'].values())
    assert all(v['exact_map'] == 1.0 for v in m['generation']['human'].values())
    assert {p.name for p in (d/'run'/'figures').iterdir()} >= {'loss.html', 'perplexity.html', 'generation.html', 'genre_distribution.html'}
