"Craft on request with the session's trained run, through the CLI as a user calls it: rhyme and syllables as asked, lines marked, JSON, one-line errors, evaluation rows."
import json, re
import pytest
from conftest import run, tool
from lyricloop.metrics import craft_rates, requested_craft

MAP = 'Verse (ABAB, 8), Chorus (AABB, 6), Verse, Chorus'

@pytest.fixture(scope='session')
def trained(pipeline_run): return pipeline_run['run']

@pytest.fixture(scope='session')
def songs_json(trained):
    r = run([tool('lyricloop'), 'generate', '--run', str(trained), '--genre', 'Country', '--song-map', MAP, '--theme', 'a dirt road home',
             '--n', '3', '--seed', '5', '--json'], check=True)
    return json.loads(r.stdout)

def test_json_gives_the_craft_asked_and_measured(songs_json):
    for s in songs_json:
        secs = s['sections']
        assert [x['rhyme'] for x in secs] == ['ABAB', 'AABB', 'ABAB', 'AABB']
        for x in secs:
            assert len(x['syllables']) == len(x['lines']) == len(x['measured'])               # asked and measured, one per line
            assert set(x['syllables']) == ({8} if x['rhyme'] == 'ABAB' else {6})
            assert all(set(m) == {'syllables', 'letter'} for m in x['measured'])

def test_constrained_songs_rhyme_scan_and_carry_the_theme(songs_json):
    "The decoder's guarantee with a trained model, measured: can fail if the trie, the rhyme planning or the syllable count breaks."
    c = craft_rates([requested_craft(s['text'], s['craft'], s['theme']) for s in songs_json])
    assert c['pairs'] >= 10 and c['rhyme_accuracy'] >= 0.95, c
    assert c['syllables_within_1'] >= 0.85 and c['syllables_exact'] >= 0.7, c   # the 40-step run: 0.911 at ae28ca5, 0.897 at bd10ff1 (the nearest ending could end a line short: 'Rebel on the street', 5 of 8), 0.912 once such endings wait for a word of the model's own; the 0.9 target is the demo's
    assert c['theme_in_chorus'] == 1.0, c

def test_text_output_marks_each_line(trained):
    r = run([tool('lyricloop'), 'generate', '--run', str(trained), '--genre', 'Pop', '--song-map', 'Verse, Chorus', '--rhyme', 'AABB',
             '--syllables', '7'], check=True)
    marked = [l for l in r.stdout.splitlines() if re.search(r'\s\d+/7\s+[A-Z]$', l)]
    assert len(marked) >= 4, r.stdout
    assert 'Verse AABB, 7' in r.stdout and 'Chorus AABB, 7' in r.stdout

@pytest.mark.parametrize('args, msg', [(['--rhyme', 'AB1B'], "request: rhyme scheme 'AB1B' is not a scheme"),
                                       (['--syllables', '0'], "request: syllables '0'"),
                                       (['--song-map', 'Verse (ABAB, 8), Chorus (AB9B)'], "Chorus: 'AB9B' is neither a rhyme scheme")])
def test_bad_craft_is_one_line_naming_the_section(trained, args, msg):
    r = run([tool('lyricloop'), 'generate', '--run', str(trained), '--genre', 'Pop', *args])
    assert r.returncode == 2 and msg in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr

def test_evaluation_has_craft_rows(pipeline_run):
    m = json.loads((pipeline_run['run']/'metrics.json').read_text())
    for mode in ('human', 'base-free', 'tuned-free', 'tuned-constrained'):
        assert {'rhyme_accuracy', 'syllables_exact', 'syllables_within_1', 'theme_in_chorus'} <= set(m['modes'][mode]['craft'])
        assert set(m['modes'][mode]['craft_per_genre']) == set(m['genres'])
    assert set(m['fluency']) == {'base-free', 'tuned-free', 'tuned-constrained'} and 'theme_shared_line_rate' in m
    assert m['modes']['tuned-constrained']['craft']['rhyme_accuracy'] >= 0.9
    assert (pipeline_run['run']/'figures'/'craft.html').exists()
