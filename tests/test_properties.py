"Property-based tests (hypothesis) of the parsers that take user or model text: song maps, section headers, `clean_lyrics`, the generated-song layout. Any text gives a result or a `LyricLoopError`, never another exception, and the round trips hold."
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from lyricloop.config import LyricLoopError
from lyricloop.sections import (SECTIONS, FALLBACK_SECTION, MAX_SECTIONS, normalize_section, section_headers, normalize_headers,
                                parse_sections, song_map, parse_song_map)
from lyricloop.clean import clean_lyrics
from lyricloop.generate import format_song

CASES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)   # the same cases every run: CI is not a lottery
# text that looks like lyrics: headers, brackets, separators, odd spaces and newlines, and anything else
PIECES = st.sampled_from(['[', ']', '\n', '\r\n', '\r', ' ', '\t', '\u00a0', '\u200b', ',', '-', '->', '|', ';', ':', 'x2', '(', ')',
                          'Verse', 'verse 1', 'Chorus', 'Hook', 'Pre-Chorus', 'Bridge', 'Outro', 'Intro', 'la la', 'Embed', '12Embed',
                          '3 Contributors', 'Lyrics', 'You might also like', '[Chorus]', '[Verse 2: A & B]', '\n\n\n'])
LYRIC_TEXT = st.one_of(st.text(), st.lists(st.one_of(PIECES, st.text(max_size=5)), max_size=40).map(''.join))
MAPS = st.lists(st.sampled_from(SECTIONS), min_size=1, max_size=MAX_SECTIONS)
LINES = st.lists(st.text(alphabet=st.characters(blacklist_categories=['Cc', 'Cs', 'Zl', 'Zp'], blacklist_characters='[]'), min_size=1, max_size=20)
                 .map(str.strip).filter(bool), min_size=1, max_size=4)

@CASES
@given(LYRIC_TEXT)
def test_parse_song_map_returns_sections_or_a_lyricloop_error(text):
    try: out = parse_song_map(text)
    except LyricLoopError: return
    assert 1 <= len(out) <= MAX_SECTIONS and set(out) <= set(SECTIONS)

@CASES
@given(MAPS, st.sampled_from([', ', ' - ', ' -> ', ' | ', '; ', ',']))
def test_a_written_map_reads_back(m, sep):
    assert parse_song_map(sep.join(m)) == m
    assert parse_song_map(' '.join(f'[{h}]' for h in section_headers(m))) == m   # as headers: [Verse 1] [Chorus] ...
    assert parse_song_map([s.lower() for s in m]) == m

@CASES
@given(st.lists(st.sampled_from(SECTIONS), min_size=MAX_SECTIONS + 1, max_size=3 * MAX_SECTIONS))
def test_a_map_past_the_limit_is_refused(m):
    with pytest.raises(LyricLoopError, match=f'at most {MAX_SECTIONS}'): parse_song_map(', '.join(m))

@CASES
@given(LYRIC_TEXT)
def test_every_header_has_a_canonical_section(h):
    assert normalize_section(h) in SECTIONS + (FALLBACK_SECTION,)

@CASES
@given(MAPS)
def test_canonical_headers_read_back(m):
    assert [normalize_section(h) for h in section_headers(m)] == m

@CASES
@given(LYRIC_TEXT)
def test_normalized_headers_are_a_fixed_point(text):
    out, found = normalize_headers(text)
    assert normalize_headers(out) == (out, found)
    assert song_map(out) == found

@CASES
@given(st.one_of(st.none(), LYRIC_TEXT))
def test_clean_lyrics_is_idempotent(text):
    once = clean_lyrics(text)
    assert isinstance(once, str) and clean_lyrics(once) == once

@CASES
@given(LYRIC_TEXT, st.sets(st.integers(0, 10)))
def test_the_song_layout_takes_any_model_text(text, drop):
    out = format_song(text, drop)
    assert format_song(out) == out                                  # laid out once, stable
    assert [h for h, _ in parse_sections(out)] == [h for h, _ in parse_sections(text)]

@CASES
@given(MAPS.map(lambda m: m[:8]), st.data())
def test_a_generated_song_reads_back_as_its_map(m, data):
    body = '\n'.join(f'[{h}]\n' + '\n'.join(data.draw(LINES)) for h in section_headers(m))
    text = format_song(body)
    assert song_map(text) == m and normalize_headers(text) == (text, m)
