"`lyricloop prepare` as a user runs it: output, one-line errors that name file and row, nothing written on failure."
import pytest
from conftest import run, tool
from lyricloop.data import load_prepared

def test_cli_prepare_on_the_sample(tmp_path):
    r = run([tool('lyricloop'), 'prepare', '--out', str(tmp_path/'d'), '--quiet'], check=True)
    assert 'songs per genre' in r.stdout
    dd, st = load_prepared(tmp_path/'d')
    assert st['per_genre'] >= 100 and set(st['balanced_by_genre'].values()) == {st['per_genre']}
    assert set(dd['train']['genre']) == {'Pop', 'Rap', 'Rock', 'R&B', 'Country', 'EDM'}
    assert all(not l.startswith(('[Verse 1:', '[Hook', '[Refrain')) for l in '\n'.join(dd['train']['lyrics']).split('\n'))
    assert (tmp_path/'d'/'config.json').exists()

@pytest.mark.parametrize('content, message', [
    ('title,tag,artist,lyrics\nA,pop,X,la\n', 'missing required column(s) id'),
    ('title,tag,artist,lyrics,id,language\nA,pop,X,"[Verse]\nla",1,en\nB,rap,Y,"never closed,2,en\nC,rock,Z,ok,3,en\n', 'broken CSV at row 2 (line 4)'),
    ('title,tag,artist,lyrics,id,language\nA,pop,X,la,1,en\nB,rap,Y,la,2\n', 'broken CSV at row 2 (line 3): expected 6 fields, got 5'),
    ('', 'empty file'),
])
def test_bad_csv_is_one_line_naming_file_and_row_and_writes_nothing(tmp_path, content, message):
    bad = tmp_path/'bad.csv'; bad.write_text(content)
    r = run([tool('lyricloop'), 'prepare', '--csv', str(bad), '--out', str(tmp_path/'out'), '--quiet'])
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and str(bad) in r.stderr and message in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ['bad.csv']

def test_unknown_genre_is_rejected(tmp_path):
    r = run([tool('lyricloop'), 'prepare', '--genres', 'Pop,Polka', '--out', str(tmp_path/'o')])
    assert r.returncode == 2 and "unknown genre 'Polka'" in r.stderr
