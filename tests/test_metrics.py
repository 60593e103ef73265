"`lyricloop evaluate` on the session's trained run: metrics.json and figures, tuned beats base on the same test texts."
import json
from conftest import run, tool

def _drop_time(m): return {k: v for k, v in m.items() if k != 'seconds'}

def test_pipeline_metrics_and_the_evaluate_cli(pipeline_run):
    m = pipeline_run['metrics']
    assert set(m['perplexity']) == {'Pop', 'Rap', 'Rock', 'R&B', 'Country', 'EDM'}
    for g, p in m['perplexity'].items(): assert p['tuned'] < p['base'], (g, p)          # same test texts for both
    assert set(m['generation']) == {'human', 'base-free', 'tuned-free', 'tuned-constrained'}
    assert all(v['exact_map'] == 1.0 for v in m['generation']['tuned-constrained'].values())
    assert all(v['exact_map'] == 1.0 for v in m['generation']['human'].values())
    for mode, v in m['modes'].items():                                                   # genre fidelity of every mode, on the same requests
        g = v['genre']
        assert g['n'] == sum(map(sum, g['confusion'])) == (m['test_songs'] if mode == 'human' else len(m['genres']) * m['n_per_genre'])
        assert 0 <= g['accuracy'] <= 1 and set(g['per_genre_f1']) == set(m['genres'])
    assert m['modes']['tuned-constrained']['summary']['exact_map']['mean'] == 1.0
    songs = json.loads((pipeline_run['run']/'metrics_songs.json').read_text())
    assert [s['genre'] for s in songs['tuned-free']] == m['genres'] * m['n_per_genre']        # request k of every genre ...
    assert len({(tuple(s['requested']), s['theme'], s['seed']) for s in songs['tuned-free'][:len(m['genres'])]}) == 1   # ... differs only in genre
    run_dir = pipeline_run['run']
    r = run([tool('lyricloop'), 'evaluate', '--run', str(run_dir), '--n-per-genre', '1', '--max-new-tokens', '96', '--quiet'], check=True)
    assert 'perplexity base' in r.stdout
    assert _drop_time(json.loads((run_dir/'metrics.json').read_text())) == _drop_time(m)   # the CLI gives the pipeline's numbers
    assert {p.name for p in (run_dir/'figures').iterdir()} >= {'loss.html', 'perplexity.html', 'generation.html', 'genre_distribution.html'}
