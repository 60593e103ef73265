"The data step end to end: CLI, bad input, input forms, sampling properties."
import csv, gzip, json, random, shutil
from pathlib import Path
import pytest
from conftest import run, tool
from lyricloop.config import LoopConfig, LyricLoopError
from lyricloop.data import prepare_dataset, load_prepared, scan_corpus
from lyricloop.sample import sample_csv, write_genius_csv, COLUMNS

def test_cli_prepare_on_the_sample(tmp_path):
    r = run([tool('lyricloop'), 'prepare', '--out', str(tmp_path/'d'), '--quiet'], check=True)
    assert 'songs per genre' in r.stdout
    dd, st = load_prepared(tmp_path/'d')
    assert st['per_genre'] >= 100 and set(st['balanced_by_genre'].values()) == {st['per_genre']}
    assert set(dd['train']['genre']) == {'Pop', 'Rap', 'Rock', 'R&B', 'Country'}
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

def test_missing_file(tmp_path):
    r = run([tool('lyricloop'), 'prepare', '--csv', str(tmp_path/'nope.csv'), '--out', str(tmp_path/'o')])
    assert r.returncode == 2 and 'nope.csv: no such file' in r.stderr

def test_unknown_genre_is_rejected(tmp_path):
    r = run([tool('lyricloop'), 'prepare', '--genres', 'Pop,Polka', '--out', str(tmp_path/'o')])
    assert r.returncode == 2 and "unknown genre 'Polka'" in r.stderr

def test_gz_plain_and_folder_inputs_agree(tmp_path):
    plain = tmp_path/'one'/'s.csv'; plain.parent.mkdir()
    plain.write_bytes(gzip.open(sample_csv()).read())
    cfg = LoopConfig(max_per_genre=120)
    a = prepare_dataset(sample_csv(), tmp_path/'a', cfg, progress=False)
    b = prepare_dataset(plain, tmp_path/'b', cfg, progress=False)
    c = prepare_dataset(plain.parent, tmp_path/'c', cfg, progress=False)
    ids = [sorted(load_prepared(tmp_path/x)[0]['train']['id']) for x in 'abc']
    assert ids[0] == ids[1] == ids[2] and a['balanced_by_genre'] == b['balanced_by_genre'] == c['balanced_by_genre']

def test_sample_does_not_depend_on_row_order_and_seed_matters(tmp_path):
    rows = list(csv.DictReader(gzip.open(sample_csv(), 'rt', newline='')))
    random.Random(0).shuffle(rows)
    shuffled = tmp_path/'shuffled.csv'
    with open(shuffled, 'w', newline='') as f:
        w = csv.DictWriter(f, COLUMNS); w.writeheader(); w.writerows(rows)
    cfg = LoopConfig(max_per_genre=100)
    prepare_dataset(sample_csv(), tmp_path/'a', cfg, progress=False)
    prepare_dataset(shuffled, tmp_path/'b', cfg, progress=False)
    prepare_dataset(sample_csv(), tmp_path/'c', cfg.replace(seed=7), progress=False)
    ids = {x: set().union(*(load_prepared(tmp_path/x)[0][s]['id'] for s in ('train', 'validation', 'test'))) for x in 'abc'}
    assert ids['a'] == ids['b'] and ids['a'] != ids['c']

def test_artist_cap_and_no_duplicate_ids(tmp_path):
    cfg = LoopConfig(max_songs_per_artist=1, max_per_genre=60)
    prepare_dataset(sample_csv(), tmp_path/'d', cfg, progress=False)
    dd, st = load_prepared(tmp_path/'d')
    rows = [r for s in dd.values() for r in s]
    for g in cfg.genres:
        artists = [r['artist'] for r in rows if r['genre'] == g]
        assert len(artists) == len(set(artists))
    ids = [r['id'] for r in rows]
    assert len(ids) == len(set(ids))

def test_explicit_per_genre_and_split_sizes(tmp_path):
    st = prepare_dataset(sample_csv(), tmp_path/'d', LoopConfig(per_genre=50, split=(0.6, 0.2, 0.2)), progress=False)
    assert st['balanced_by_genre'] == {g: 50 for g in ('Pop', 'Rap', 'Rock', 'R&B', 'Country')}
    assert all(v == {g: n for g in st['balanced_by_genre']} for v, n in zip(st['splits'].values(), (30, 10, 10)))

def test_overwrite_replaces_atomically(tmp_path):
    prepare_dataset(sample_csv(), tmp_path/'d', LoopConfig(per_genre=20), progress=False)
    with pytest.raises(LyricLoopError, match='already exists'):
        prepare_dataset(sample_csv(), tmp_path/'d', LoopConfig(per_genre=30), progress=False)
    prepare_dataset(sample_csv(), tmp_path/'d', LoopConfig(per_genre=30), overwrite=True, progress=False)
    assert load_prepared(tmp_path/'d')[1]['per_genre'] == 30
    assert [p.name for p in tmp_path.iterdir()] == ['d']

def test_load_prepared_refuses_other_folders(tmp_path):
    with pytest.raises(LyricLoopError, match='not a prepared dataset'): load_prepared(tmp_path)

def _plain_sample(tmp_path, rows=None):
    "The shipped sample as a plain CSV, its rows optionally replaced."
    plain = tmp_path/'sample.csv'
    with gzip.open(sample_csv(), 'rt', newline='', encoding='utf-8') as f: data = list(csv.reader(f))
    if rows: data = data[:1] + rows(data[1:])
    with open(plain, 'w', newline='', encoding='utf-8') as f: csv.writer(f).writerows(data)
    return plain

def test_parallel_prepare_gives_the_same_dataset(tmp_path):
    plain, cfg = _plain_sample(tmp_path), LoopConfig(max_songs_per_artist=2)
    one = prepare_dataset(plain, tmp_path/'one', cfg, progress=False, workers=1)
    from lyricloop import data
    old, data.MIN_PIECE_BYTES = data.MIN_PIECE_BYTES, 1 << 20
    try: three = prepare_dataset(plain, tmp_path/'three', cfg, progress=False, workers=3)
    finally: data.MIN_PIECE_BYTES = old
    assert (one['workers'], three['workers']) == (1, 3) and len(three['workers_peak_rss_mb']) == 3
    for key in ('raw_by_tag', 'eligible_by_genre', 'balanced_by_genre', 'splits', 'sections', 'rows_scanned'): assert one[key] == three[key], key
    a, b = load_prepared(tmp_path/'one')[0], load_prepared(tmp_path/'three')[0]
    for split in ('train', 'validation', 'test'): assert a[split].to_list() == b[split].to_list()

def test_a_bare_quote_that_fools_the_cut_falls_back_to_one_process(tmp_path):
    from lyricloop.data import sample_corpus
    # an unquoted field with a quote in it (some writers emit this; Arrow reads it literally) flips the quote parity after it
    plain = tmp_path/'bare.csv'
    src = _plain_sample(tmp_path).read_text(encoding='utf-8').split('\n', 2)
    plain.write_text(src[0] + '\n' + src[1].replace(src[1].split(',')[0], '5" Heels', 1) + '\n' + src[2], encoding='utf-8')
    cfg = LoopConfig(max_per_genre=300)
    one, st1 = sample_corpus(plain, cfg, 300, progress=False, workers=1)
    two, st2 = sample_corpus(plain, cfg, 300, progress=False, workers=2, min_piece_bytes=1 << 20)
    assert st2['workers'] == 1 and two == one and st2['rows_scanned'] == st1['rows_scanned']

def test_a_broken_csv_is_named_when_scanned_in_pieces(tmp_path):
    plain = _plain_sample(tmp_path)
    lines = plain.read_text(encoding='utf-8').split('\n')
    lines[-40] = lines[-40] + ',"never closed'
    plain.write_text('\n'.join(lines), encoding='utf-8')
    from lyricloop.data import sample_corpus
    with pytest.raises(LyricLoopError, match=r'sample.csv: broken CSV at row \d+ \(line \d+\)'):
        sample_corpus(plain, LoopConfig(), 100, progress=False, workers=2, min_piece_bytes=1 << 20)
