"""Draft -> critique -> revise, measured: a trained run's constrained songs before and after `LyricGenerator.revise`.

    python bench/bench_revise.py --run runs/demo/run                 # 2 songs per genre, 8 candidates a line
    python bench/bench_revise.py --run runs/demo/run --per-genre 4 --candidates 4

The requests are `evaluate`'s (`evaluation_requests`: per genre, the maps and titles of test songs, seeds seed + k), written
constrained with craft (the genre's rhyme scheme and syllables) in one batch, then each song revised: every line that misses
its rhyme or syllables, is junk, or reads as filler (its tokens' mean log-probability under the tuned model below
`FILLER_LOGPROB`) is redrafted, the best candidate kept (craft first, then log-probability): once from `--candidates`
lines written under the line's craft alone (`refit=False`), once with as many free lines refitted to it as well (the
default). The same requests are written free too, as the reference the fluency target is stated against.

Rows: free (reference), constrained draft, revised from craft candidates only, revised with refitted free lines. Columns as `evaluate` computes them: fluency (the tuned
model's mean log-probability of the songs' lyric tokens, prompt = the song's map, theme and craft), requested rhyme,
syllables exact / within one, theme in every chorus, junk (theme words known), genre accuracy (the TF-IDF classifier fitted
on the run's training split) and its lowest per-genre F1, lines redrafted and seconds per song (wall, this process); under
the table, each row's F1 per genre. Targets (#24): constrained fluency within 10 % of free, every genre's F1 >= 0.8 at 20
songs per genre (`--per-genre 20 --no-craft-only`: the slow craft-only row left out).
"""
import argparse, json, time, warnings

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--run', required=True, help='a trained run folder')
    ap.add_argument('--per-genre', type=int, default=2, help='songs per genre (default 2)')
    ap.add_argument('--candidates', type=int, default=8, help='candidates per redrafted line (default 8)')
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--no-craft-only', action='store_true', help='leave out the row revised from craft candidates only')
    ap.add_argument('--json', help='also write the rows (and the revised songs) to this file')
    a = ap.parse_args()
    warnings.filterwarnings('ignore')
    from lyricloop.config import LoopConfig, RunDir
    from lyricloop.data import load_prepared
    from lyricloop.generate import LyricGenerator, FILLER_LOGPROB
    from lyricloop.metrics import (craft_rates, echo_rate, evaluation_requests, fit_genre_classifier, fluency, genre_fidelity, junk_rate,
                                   lyric_vocabulary, requested_craft, training_data)
    run = RunDir(a.run)
    cfg = LoopConfig.load(run.config)
    dd, _ = load_prepared(training_data(run.root, None))
    train, test = list(dd['train']), list(dd['test'])
    g = LyricGenerator.from_run(run.root)
    reqs = evaluation_requests(test, g.genres, a.per_genre, a.seed)
    clf, vocab = fit_genre_classifier(train), lyric_vocabulary(train)
    t0 = time.time(); free = g.generate_batch(reqs, mode='free'); t_free = time.time() - t0
    t0 = time.time(); draft = g.generate_batch(reqs, mode='constrained'); t_draft = time.time() - t0
    t0 = time.time(); crafted = None if a.no_craft_only else [g.revise(s, a.candidates, refit=False) for s in draft]; t_crafted = time.time() - t0
    t0 = time.time(); revised = [g.revise(s, a.candidates) for s in draft]; t_rev = time.time() - t0

    rows, f1s = [], {}
    for name, songs, secs in (('free (reference)', free, t_free), ('constrained draft', draft, t_draft),
                              ('revised, craft candidates only', crafted, t_draft + t_crafted),
                              ('revised, + refitted free lines', revised, t_draft + t_rev)):
        if songs is None: continue
        c = craft_rates([requested_craft(s.text, s.asked(), s.theme) for s in songs])
        gf = genre_fidelity([s.genre for s in songs], clf.predict([s.text for s in songs]).tolist(), g.genres)
        acc, f1s[name] = gf['accuracy'], gf['per_genre_f1']
        low = min(gf['per_genre_f1'], key=gf['per_genre_f1'].get)
        rows.append(dict(rows=name, fluency=fluency(g.model, g.tok, songs, cfg.model.template, 8, cfg.training.max_length), rhyme=c['rhyme_accuracy'], syllables_exact=c['syllables_exact'],
                         syllables_within_1=c['syllables_within_1'], theme_in_chorus=c['theme_in_chorus'],
                         junk=junk_rate([s.text for s in songs], vocab, [s.theme for s in songs]), echo=echo_rate([s.text for s in songs]), genre_accuracy=acc,
                         lowest_f1=f"{gf['per_genre_f1'][low]:.2f} {low}",
                         redrafted=sum(len(s.revised) for s in songs), seconds_per_song=secs / len(songs)))
    lines = sum(len(ls) for s in draft for h, ls in s.sections if h)
    print(f"run {run.root}: {len(reqs)} requests ({a.per_genre} per genre), {a.candidates} candidates a line, "
          f"filler under {FILLER_LOGPROB} nats; {lines} constrained lines")
    cols = list(rows[0])[1:]
    print('| rows | ' + ' | '.join(cols) + ' |'); print('|---' * (len(cols) + 1) + '|')
    fmt = lambda v: '-' if v is None else f'{v:.3f}' if isinstance(v, float) else str(v)
    for r in rows: print(f"| {r['rows']} | " + ' | '.join(fmt(r[c]) for c in cols) + ' |')
    f0 = rows[0]['fluency']
    for r in rows[1:]: print(f"{r['rows']}: fluency {r['fluency']:.3f} is {r['fluency'] / f0:.2f}x free's {f0:.3f} (target: within 1.10x)")
    for name, f in f1s.items(): print(f"{name}: genre F1 " + ', '.join(f'{k} {v:.2f}' for k, v in f.items()) + " (target: each >= 0.8)")
    if a.json:
        json.dump(dict(rows=rows, genre_f1=f1s, songs=[s.to_dict() for s in revised]), open(a.json, 'w'), indent=1)

if __name__ == '__main__':
    main()
