"`lyricloop evaluate` on the session's trained run: metrics.json and figures, tuned beats base on the same test texts."
import json
import pytest
from conftest import run, tool
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


def _drop_time(m): return {k: v for k, v in m.items() if k != 'seconds'}

def test_pipeline_metrics_and_the_evaluate_cli(pipeline_run):
    m = pipeline_run['metrics']
    assert set(m['perplexity']) == {'Pop', 'Rap', 'Rock', 'R&B', 'Country'}
    for g, p in m['perplexity'].items(): assert p['tuned'] < p['base'], (g, p)          # same test texts for both
    assert set(m['generation']) == {'human', 'base-free', 'tuned-free', 'tuned-constrained'}
    assert all(v['exact_map'] == 1.0 for v in m['generation']['tuned-constrained'].values())
    assert all(v['exact_map'] == 1.0 for v in m['generation']['human'].values())
    run_dir = pipeline_run['run']
    r = run([tool('lyricloop'), 'evaluate', '--run', str(run_dir), '--n-per-genre', '1', '--max-new-tokens', '96', '--quiet'], check=True)
    assert 'perplexity base' in r.stdout
    assert _drop_time(json.loads((run_dir/'metrics.json').read_text())) == _drop_time(m)   # the CLI gives the pipeline's numbers
    assert {p.name for p in (run_dir/'figures').iterdir()} >= {'loss.html', 'perplexity.html', 'generation.html', 'genre_distribution.html'}
