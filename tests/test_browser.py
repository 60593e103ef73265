"""The Streamlit page in a real browser: `lyricloop app` served on a free port and driven by headless Chromium (Selenium), asserting what a person sees.

Needs Debian's `chromium` and `chromium-driver` (`apt-get install chromium chromium-driver`) and `selenium`; skipped with the reason otherwise.
The driver is Debian's `/usr/bin/chromedriver`, so Selenium never looks for one on the network. The finished song is photographed into
`nbs/images/` for the Streamlit notebook. Every wait is bounded, and the server is stopped whatever happens."""
import json, os, re, shutil, signal, socket, subprocess, time, urllib.request
from pathlib import Path
import pytest
from conftest import ROOT, tool
from lyricloop.sections import parse_song_map, song_map

CHROMIUM, DRIVER = shutil.which('chromium') or '/usr/bin/chromium', '/usr/bin/chromedriver'
IMAGES = ROOT/'nbs'/'images'
try: import selenium
except ImportError: selenium = None
pytestmark = [pytest.mark.skipif(selenium is None, reason='selenium is not installed (pip install selenium)'),
              pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
                                 reason='no headless browser here: apt-get install chromium chromium-driver')]

RAP = 'Rap: Intro, three Verses with Hooks, Outro'
RAP_MAP = 'Intro, Verse, Chorus, Verse, Chorus, Verse, Outro'

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def wait_for(cond, timeout: float, what: str, every: float = 0.1):
    "Poll `cond()` until it returns something truthy; fail naming `what` after `timeout` seconds."
    deadline = time.monotonic() + timeout
    while True:
        try: v = cond()
        except Exception: v = None              # an element replaced by a rerun while we read it: try again
        if v: return v
        if time.monotonic() > deadline: raise AssertionError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(every)

@pytest.fixture(scope='module')
def server(demo_run):
    "`lyricloop app --run RUN` serving the demo's run (the model a user meets first) on a free localhost port, stopped (its whole process group) at the end."
    port = _free_port()
    p = subprocess.Popen([tool('lyricloop'), 'app', '--run', str(demo_run['run']), '--port', str(port), '--host', '127.0.0.1'],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    url = f'http://127.0.0.1:{port}/'
    def healthy():
        assert p.poll() is None, f"lyricloop app exited {p.returncode}: {p.stdout.read()}"
        try:
            with urllib.request.urlopen(url + '_stcore/health', timeout=5) as r: return r.read() == b'ok'
        except OSError: return False
    try:
        wait_for(healthy, 120, 'the server to answer', every=0.5)
        yield url
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        try: p.wait(timeout=30)
        except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL); p.wait()

@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    "Headless Chromium through Debian's chromedriver, downloading into a temporary folder (`browser.downloads`)."
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    downloads = tmp_path_factory.mktemp('downloads')
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--window-size=1280,1600', '--force-device-scale-factor=1'):
        opts.add_argument(a)
    opts.add_experimental_option('prefs', {'download.default_directory': str(downloads), 'download.prompt_for_download': False})
    d = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        d.set_page_load_timeout(60)
        d.execute_cdp_cmd('Browser.setDownloadBehavior', {'behavior': 'allow', 'downloadPath': str(downloads)})
        d.downloads = downloads
        yield d
    finally: d.quit()

# --- what a person does -------------------------------------------------------------------------------------------------------------------------

def css(d, sel): return d.find_elements('css selector', sel)

def running(d) -> bool:
    "Whether the page's script is running (Streamlit's status widget says so)."
    return any('Running' in e.text or 'Stop' in e.text for e in css(d, '[data-testid="stStatusWidget"]'))

def settle(d, timeout=60):
    "Wait for the script run a widget change started to finish."
    time.sleep(0.3)
    wait_for(lambda: not running(d), timeout, 'the page to finish its rerun')

def open_page(d, url):
    d.get(url)
    wait_for(lambda: generate_button(d), 300, 'the Generate button (the model loaded)')
    settle(d)

def generate_button(d):
    return next((b for b in css(d, '[data-testid="stButton"] button') if b.text.strip() == 'Generate'), None)

def choose(d, label: str, option: str):
    "Pick `option` in the select box labelled `label`, as a person does: open it, click the option."
    d.find_element('css selector', f'input[role="combobox"][aria-label="{label}"]').click()
    opt = wait_for(lambda: next((o for o in css(d, '[role="option"]') if o.text.strip() == option), None), 10, f'option {option!r} of {label}')
    opt.click()
    wait_for(lambda: d.find_element('css selector', f'input[aria-label="{label}"]').get_attribute('value') == option, 10, f'{label} to read {option!r}')
    settle(d)

def developer_options(d, look: float = 10) -> list:
    "What a visitor is offered of Streamlit's developer tools: the Deploy button, and Rerun / Clear cache / Record screen in the ⋮ menu."
    from selenium.webdriver.common.keys import Keys
    deadline = time.monotonic() + look          # the toolbar's buttons come a moment after the page, with the server's host config
    while not css(d, '[data-testid="stAppDeployButton"], [data-testid="stMainMenuButton"]') and time.monotonic() < deadline: time.sleep(0.2)
    found = ['Deploy' for _ in css(d, '[data-testid="stAppDeployButton"]')]
    for b in css(d, '[data-testid="stMainMenuButton"]'):
        b.click()
        items = wait_for(lambda: [e.text.split('\n')[0] for e in css(d, '[role="menuitem"]')], 10, 'the main menu')
        found += [i for i in items if i in ('Rerun', 'Clear cache', 'Record screen')]
        d.find_element('tag name', 'body').send_keys(Keys.ESCAPE)
    return found

def type_into(d, label: str, text: str):
    "Replace the text of the text box labelled `label` and press Enter."
    from selenium.webdriver.common.keys import Keys
    box = d.find_element('css selector', f'input[aria-label="{label}"]')
    box.send_keys(Keys.CONTROL, 'a'); box.send_keys(Keys.DELETE); box.send_keys(text, Keys.ENTER)
    wait_for(lambda: d.find_element('css selector', f'input[aria-label="{label}"]').get_attribute('value') == text, 10, f'{label} to read {text!r}')
    settle(d)

def pick_radio(d, option: str):
    next(l for l in css(d, '[data-testid="stRadio"] label') if l.text.strip() == option).click()
    settle(d)

# --- what a person sees -------------------------------------------------------------------------------------------------------------------------

# The lyrics block: the element the song is rendered in — the page's `pre.ll-lyrics`; on a page without it (an older page), the first
# `pre`, or Markdown's stand-in for one, holding a section header.
FIND_LYRICS = """
return document.querySelector('pre.ll-lyrics') ||
       [...document.querySelectorAll('pre, [data-testid="stMarkdownPre"]')].find(e => /\\[[^\\]\\n]+\\]/.test(e.textContent)) || null;"""

# Where each line of `lines` starts on screen: the rectangle of its first character, found in order in the block's text nodes.
LINE_STARTS = """
const [el, lines] = arguments;
const nodes = [], walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
while (walk.nextNode()) nodes.push(walk.currentNode);
const text = nodes.map(n => n.data).join('');
const at = (off) => { for (const n of nodes) { if (off < n.data.length) return [n, off]; off -= n.data.length; } return null; };
let from = 0; const out = [];
for (const line of lines) {
  const i = text.indexOf(line, from);
  if (i < 0) { out.push(null); continue; }
  from = i + line.length;
  const [n, o] = at(i), r = document.createRange(); r.setStart(n, o); r.setEnd(n, o + 1);
  const b = r.getBoundingClientRect(), s = getComputedStyle(n.parentElement);
  out.push({top: b.top, left: b.left, bold: parseInt(s.fontWeight) >= 600, color: s.color});
}
return {starts: out, left: el.getBoundingClientRect().left, lineHeight: parseFloat(getComputedStyle(el).lineHeight) || 0};"""

def lyrics_block(d): return d.execute_script(FIND_LYRICS)

def line_boxes(d, text: str) -> dict:
    "Where each non-empty line of song `text` starts in the rendered lyrics block."
    lines = [l.strip() for l in text.split('\n') if l.strip()]
    return dict(lines=lines, **d.execute_script(LINE_STARTS, lyrics_block(d), lines))

def assert_one_box_per_line(d, text: str):
    "Every lyric line of `text` starts its own line box at the block's left edge, below the one before; headers in bold."
    m = line_boxes(d, text)
    starts = m['starts']
    assert None not in starts, f"lines missing from the page: {[l for l, s in zip(m['lines'], starts) if s is None]}"
    tops = [s['top'] for s in starts]
    same = [m['lines'][i] for i in range(1, len(tops)) if tops[i] <= tops[i - 1] + 1]
    assert not same, f"{len(same)} of {len(tops)} lyric lines run on from the line before instead of starting their own, e.g. {same[:3]}"
    assert all(abs(s['left'] - m['left']) < 2 for s in starts), 'a lyric line does not start at the left edge of the block'
    heads = [s for l, s in zip(m['lines'], starts) if re.fullmatch(r'\[[^\]]+\]', l)]
    assert all(h['bold'] for h in heads), 'section headers are not set apart'
    return len(tops)

# Each marked lyric line and the mark CSS draws after it (the `content` of its ::after box, as the browser computed it).
LINE_MARKS = """
return [...arguments[0].querySelectorAll('.ll-line')].map(e => [e.textContent, getComputedStyle(e, '::after').content]);"""

def assert_marks_shown(d, song: dict):
    "Every lyric line shows its measured syllables (/ the count asked) and rhyme letter, as the song's JSON gives them."
    want = [[l, f"{m['syllables']}{'' if not s['syllables'] else '/' + str(s['syllables'][i])} {m['letter']}"]
            for s in song['sections'] for i, (l, m) in enumerate(zip(s['lines'], s['measured']))]
    shown = [[t.strip(), c.strip('"')] for t, c in d.execute_script(LINE_MARKS, lyrics_block(d))]
    assert shown == want, f"marks shown {shown[:4]}, the song's {want[:4]}"

def download(d, kind: str) -> str:
    "Click the Download TXT/JSON button; the file it saves."
    before = set(os.listdir(d.downloads))
    def click():                                # the buttons come with the laid-out song: wait for this one, found and clicked in one go
        b = next((b for b in css(d, '[data-testid="stDownloadButton"] button') if b.text.strip() == f'Download {kind}'), None)
        if b is not None: b.click()
        return b is not None
    wait_for(click, 30, f'the Download {kind} button')
    def saved():
        new = [f for f in set(os.listdir(d.downloads)) - before if not f.endswith('.crdownload')]
        return new[0] if new else None
    return (d.downloads/wait_for(saved, 30, f'the {kind} download')).read_text()

def write_song(d, timeout=600) -> dict:
    "Press Generate and watch the song appear; the time to its first lyric line and to the finished song."
    generate_button(d).click()
    t0, first = time.monotonic(), None
    def finished():
        nonlocal first
        if first is None:
            el = lyrics_block(d)
            lines = el.get_attribute('textContent').split('\n')[:-1] if el else []           # complete lines only
            if any(l.strip() and not re.fullmatch(r'\s*\[[^\]]+\]\s*', l) for l in lines): first = time.monotonic() - t0
        return not running(d) and css(d, '[data-testid="stDownloadButton"]')
    wait_for(finished, timeout, 'the finished song', every=0.05)
    return dict(first_line_s=first, song_s=time.monotonic() - t0)

def screenshot(d, name: str):
    "A picture of the page's main column, the whole song in view, for the docs."
    IMAGES.mkdir(exist_ok=True)
    h = d.execute_script("return document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight")
    d.set_window_size(1280, min(max(1600, h + 200), 6000))
    d.find_element('css selector', '[data-testid="stMainBlockContainer"]').screenshot(str(IMAGES/name))
    d.set_window_size(1280, 1600)

# --- the tests ----------------------------------------------------------------------------------------------------------------------------------

def test_constrained_song_reads_line_by_line_in_the_browser(server, browser):
    d = browser
    open_page(d, server)
    shown = developer_options(d)
    assert shown == [], f"developer tools shown to visitors: {shown}"
    choose(d, 'Genre', 'Rap'); choose(d, 'Song map', RAP)
    wait_for(lambda: d.find_element('css selector', 'input[aria-label="Sections"]').get_attribute('value') == RAP_MAP, 30, 'the preset to fill Sections')
    type_into(d, 'Theme', 'the corner store')
    t = write_song(d)
    print(f"\nconstrained song: first lyric line after {t['first_line_s']:.2f}s, whole song after {t['song_s']:.2f}s")
    assert t['first_line_s'] is not None and t['first_line_s'] < t['song_s']          # it was streamed, not shown at the end
    txt, js = download(d, 'TXT'), json.loads(download(d, 'JSON'))
    assert txt == js['text'] + '\n' and js['genre'] == 'Rap' and js['theme'] == 'the corner store'
    assert song_map(js['text']) == parse_song_map(RAP_MAP)
    n = assert_one_box_per_line(d, js['text'])
    assert n == len([l for l in js['text'].split('\n') if l.strip()])
    assert_marks_shown(d, js)
    shown = re.sub(r'\s+', ' ', lyrics_block(d).get_attribute('textContent')).strip()
    assert shown == re.sub(r'\s+', ' ', js['text']).strip()                                    # the page shows the downloaded song
    line = next(e.text for e in css(d, '[data-testid="stMarkdown"]') if 'Song map:' in e.text)
    assert 'as requested' in line and ' → '.join(parse_song_map(RAP_MAP)) in line
    assert not css(d, '[data-testid="stException"]')
    screenshot(d, 'streamlit_song.png')

def test_free_song_reads_line_by_line_in_the_browser(server, browser):
    d = browser
    open_page(d, server)
    choose(d, 'Genre', 'Country'); type_into(d, 'Theme', 'a dirt road home'); pick_radio(d, 'free')
    t = write_song(d)
    print(f"\nfree song: first lyric line after {t['first_line_s']}s, whole song after {t['song_s']:.2f}s")
    js = json.loads(download(d, 'JSON'))
    assert js['mode'] == 'free' and js['genre'] == 'Country'
    assert download(d, 'TXT') == js['text'] + '\n'
    assert_one_box_per_line(d, js['text'])
    assert_marks_shown(d, js)
    assert any('Song map:' in e.text for e in css(d, '[data-testid="stMarkdown"]'))
    screenshot(d, 'streamlit_free.png')

def test_bad_song_map_is_a_visible_error_not_a_traceback(server, browser):
    d = browser
    open_page(d, server)
    type_into(d, 'Sections', 'Verse, Kazoo')
    generate_button(d).click()
    alert = wait_for(lambda: next((e for e in css(d, '[data-testid="stAlertContainer"]') if 'Kazoo' in e.text), None), 60, 'the error')
    assert "unknown section 'Kazoo'" in alert.text and alert.is_displayed()
    settle(d)
    assert not css(d, '[data-testid="stException"]') and 'Traceback' not in d.find_element('tag name', 'body').text
    assert lyrics_block(d) is None and not css(d, '[data-testid="stDownloadButton"]')
