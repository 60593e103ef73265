"The Streamlit page driven headless on the session's trained run, and `lyricloop app` served over HTTP."
import html, os, re, signal, socket, subprocess, time, urllib.request
import pytest
from conftest import ROOT, run, tool
from lyricloop.sections import parse_song_map, song_map

PAGE = str(ROOT/'lyricloop'/'streamlit_app.py')

@pytest.fixture
def page(pipeline_run, monkeypatch):
    "The page script (as `streamlit run` executes it) serving the session's run, with Streamlit's resource cache emptied."
    import streamlit as st
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv('LYRICLOOP_RUN', str(pipeline_run['run']))
    st.cache_resource.clear()
    return AppTest.from_file(PAGE, default_timeout=300)

def rendered_song(at) -> str:
    "The song text of the page's lyrics block, as a reader sees it."
    block = next(h.value for h in at.html if 'll-lyrics' in h.value)
    lyrics = re.search(r'<pre[^>]*>(.*)</pre>', block, re.S)[1]       # the block's text, not the style sheet that draws the line marks
    return html.unescape(re.sub(r'<[^>]+>', '', lyrics))

def test_constrained_song_follows_the_requested_map(page):
    at = page.run()
    assert not at.exception and not at.error
    assert at.selectbox(key='genre').options == ['Pop', 'Rap', 'Rock', 'R&B', 'Country', 'EDM']      # the run's genres only
    at.selectbox(key='genre').set_value('Rap')
    at.selectbox(key='preset').set_value('Rap: Intro, three Verses with Hooks, Outro').run()
    assert at.text_input(key='song_map').value == 'Intro, Verse, Chorus, Verse, Chorus, Verse, Outro'
    at.text_input(key='theme').input('the corner store'); at.number_input(key='seed').set_value(5)
    at.button(key='generate').click().run()
    assert not at.exception and not at.error
    text = rendered_song(at)
    assert song_map(text) == parse_song_map('Intro, Verse, Chorus, Verse, Chorus, Verse, Outro')
    assert 'as requested' in next(m.value for m in at.markdown if 'Song map' in m.value)
    assert sorted(b.label for b in at.get('download_button')) == ['Download JSON', 'Download TXT']
    assert at.session_state.song['text'] == text.strip() and at.session_state.song['seed'] == 5

def test_song_is_streamed_then_replaced_by_the_laid_out_song(page, monkeypatch):
    import lyricloop.app
    calls, real = [], lyricloop.app.lyrics_html
    monkeypatch.setattr(lyricloop.app, 'lyrics_html', lambda text, *marks: calls.append(text) or real(text, *marks))
    at = page.run()
    at.button(key='generate').click().run()
    partial = [c for c in calls if c and c != at.session_state.song['text']]
    assert len(partial) > 5 and all(len(a) <= len(b) for a, b in zip(partial, partial[1:]))   # the text grew piece by piece
    assert rendered_song(at).strip() == at.session_state.song['text']

@pytest.mark.parametrize('smap, msg', [('', 'song map is empty'), ('Verse, Chorsu', "did you mean 'Chorus'"),
                                       ('Verse, Kazoo', "unknown section 'Kazoo'")])
def test_bad_song_map_is_an_error_on_the_page(page, smap, msg):
    at = page.run()
    at.text_input(key='song_map').input(smap); at.button(key='generate').click().run()
    assert not at.exception and len(at.error) == 1 and msg in at.error[0].value
    assert not any('ll-lyrics' in h.value for h in at.html)
    at.text_input(key='song_map').input('Verse, Chorus'); at.button(key='generate').click().run()   # the page still serves
    assert not at.error and song_map(rendered_song(at)) == ['Verse', 'Chorus']

def test_run_without_adapter_is_an_error_on_the_page(tmp_path, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest
    (tmp_path/'config.json').write_text('{}')
    monkeypatch.setenv('LYRICLOOP_RUN', str(tmp_path))
    st.cache_resource.clear()
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception and len(at.error) == 1 and 'no adapter in this run' in at.error[0].value and not at.button

def test_model_loads_once_across_generate_clicks(page, monkeypatch):
    import lyricloop.export
    loads, real = [], lyricloop.export.load_generator
    monkeypatch.setattr(lyricloop.export, 'load_generator', lambda *a, **k: loads.append(a) or real(*a, **k))
    at = page.run()
    texts = []
    for seed in (1, 2):
        at.number_input(key='seed').set_value(seed); at.button(key='generate').click().run()
        texts.append(at.session_state.song['text'])
    assert len(loads) == 1 and texts[0] != texts[1]

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def test_lyricloop_app_serves_http(pipeline_run):
    port = _free_port()
    p = subprocess.Popen([tool('lyricloop'), 'app', '--run', str(pipeline_run['run']), '--port', str(port), '--host', '127.0.0.1'],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline, status = time.time() + 120, None
        while status is None and time.time() < deadline:
            assert p.poll() is None, f"lyricloop app exited {p.returncode}: {p.stdout.read()}"
            try:
                with urllib.request.urlopen(f'http://127.0.0.1:{port}/', timeout=5) as r: status, body = r.status, r.read().decode()
            except OSError: time.sleep(1)
        assert status == 200 and '<div id="root">' in body
        with urllib.request.urlopen(f'http://127.0.0.1:{port}/_stcore/health', timeout=5) as r: assert r.read() == b'ok'
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        try: p.wait(timeout=30)
        except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert p.returncode is not None

def test_lyricloop_app_refuses_a_run_without_adapter(tmp_path):
    r = run([tool('lyricloop'), 'app', '--run', str(tmp_path)], timeout=120)
    assert r.returncode == 2 and r.stderr.strip() == f"lyricloop app: error: {tmp_path}: no adapter in this run (train it first: lyricloop train --out {tmp_path})"

def test_lyricloop_app_without_streamlit_says_how_to_get_it(tmp_path):
    fake = tmp_path/'nostreamlit'/'streamlit'
    fake.mkdir(parents=True); (fake/'__init__.py').write_text("raise ImportError('No module named streamlit')\n")
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(fake.parent), str(ROOT)])}
    r = run([tool('lyricloop'), 'app'], env=env, timeout=120)
    assert r.returncode == 2 and 'pip install "lyricloop[app]"' in r.stderr and len(r.stderr.strip().splitlines()) == 1
