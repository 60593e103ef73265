"`lyricloop evaluate` on the session's trained run: metrics.json and figures, tuned beats base on the same test texts."
import json
from conftest import run, tool

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
