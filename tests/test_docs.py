"The offline docs build, looked at in a real headless browser: pages render like an nbdev site (no directives, prompts or Pandoc markup; `show_doc` as a signature), and the report's plotly figures draw."
import html, re, shutil, subprocess, sys
import pytest
from conftest import ROOT, run

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')

LEAKS = {'directive': re.compile(r'^\s*#\|', re.M), 'prompt': re.compile(r'\b(In|Out) ?\[[0-9 ]*\]:'),
         'Pandoc attributes': re.compile(r'\]\([^)]*\)\{|\{(target|style)=|\{[#.][\w-]+\}|^:::', re.M), 'show_doc call': re.compile(r'show_doc\(')}

def visible_text(dom: str) -> str:
    "The text a reader sees in a dumped DOM: no scripts, styles or tags."
    return html.unescape(re.sub(r'<[^>]+>', '', re.sub(r'<(script|style)\b.*?</\1>', '', dom, flags=re.S)))

def leaks(text: str) -> dict:
    "The markup that should not reach a reader, by kind, with an excerpt of each."
    return {k: [text[max(m.start() - 60, 0):m.end() + 60] for m in r.finditer(text)][:3] for k, r in LEAKS.items() if r.search(text)}

def test_leak_check_catches_raw_notebook_markup():
    raw = '#| echo: false\n#| output: asis\nshow_doc(build_prompt)\nIn [0]:\n[source](https://x){target="_blank"}'
    assert set(leaks(raw)) == set(LEAKS)
    assert leaks('def build_prompt(genre: str) -> str\n[Verse] in a song, a list [1, 2] and a dict {"a": 1}') == {}

def chromium_dom(page, tmp_path) -> str:
    "The DOM of `page` after headless Chromium has run its scripts."
    flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync', f'--user-data-dir={tmp_path/"chrome"}', '--virtual-time-budget=15000']
    return subprocess.run([CHROMIUM, *flags, '--dump-dom', page.as_uri()], capture_output=True, text=True, timeout=180).stdout

@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
@pytest.mark.slow
def test_pages_render_like_nbdev_and_the_report_draws_its_figures(project_copy, tmp_path):
    site = tmp_path/'site'
    run([sys.executable, str(ROOT/'tools'/'render_docs.py'), 'html', str(site)], cwd=project_copy, check=True)
    pages = sorted(site.glob('[0-9]*.html')) + [site/'index.html']
    assert len(pages) > 15
    found = {p.name: l for p in pages if (l := leaks(visible_text(p.read_text())))}
    assert not found, found
    prompts = visible_text(chromium_dom(site/'03_prompts.html', tmp_path))
    assert not leaks(prompts) and re.search(r'build_prompt¶?\s*def build_prompt\(', prompts)   # show_doc: a heading and the signature
    dom = chromium_dom(site/'11_report.html', tmp_path)
    assert 'Technical report' in dom and 'Perplexity of the test lyrics by genre' in dom
    assert dom.count('class="plotly-graph-div') >= 4       # four figures, each drawn...
    assert dom.count('class="main-svg"') >= 8              # ...into SVG by plotly.js, offline
