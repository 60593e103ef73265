"The offline docs, built once for this file (nbdev's processing, then the static pages) and looked at in a real headless browser: a page per notebook, the README current with the index notebook, pages render like an nbdev site (no directives, prompts or Pandoc markup; `show_doc` as a signature), and the report's plotly figures draw."
import html, re, shutil, subprocess, sys
import pytest
from conftest import ROOT, copy_project, run

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')

LEAKS = {'directive': re.compile(r'^\s*#\|', re.M), 'prompt': re.compile(r'\b(In|Out) ?\[[0-9 ]*\]:'),
         'doubled link': re.compile(r'\[\[[^\]]*\]\([^)\s]*\)\]\('),
         'Pandoc attributes': re.compile(r'\]\([^)]*\)\{|\{(target|style)=|\{[#.][\w-]+\}|^:::', re.M), 'show_doc call': re.compile(r'show_doc\(')}

def visible_text(dom: str) -> str:
    "The text a reader sees in a dumped DOM: no scripts, styles or tags."
    return html.unescape(re.sub(r'<[^>]+>', '', re.sub(r'<(script|style)\b.*?</\1>', '', dom, flags=re.S)))

def leaks(text: str) -> dict:
    "The markup that should not reach a reader, by kind, with an excerpt of each."
    return {k: [text[max(m.start() - 60, 0):m.end() + 60] for m in r.finditer(text)][:3] for k, r in LEAKS.items() if r.search(text)}

def test_leak_check_catches_raw_notebook_markup():
    raw = '#| echo: false\n#| output: asis\nshow_doc(build_prompt)\nIn [0]:\n[source](https://x){target="_blank"} [[`LoopConfig`](u)](u)'
    assert set(leaks(raw)) == set(LEAKS)
    assert leaks('def build_prompt(genre: str) -> str\n[Verse] in a song, a list [1, 2] and a dict {"a": 1}') == {}

def test_readme_links_each_name_once():
    assert 'doubled link' not in leaks((ROOT/'README.md').read_text())

def remote_loads(page: str) -> list:
    "What a page would fetch from the network: scripts, stylesheets, images and modules with an http(s) address."
    return re.findall(r'<(?:script|img|link|iframe)\b[^>]*\b(?:src|href)="(https?://[^"]+)"', page) + re.findall(r'import\(["\'](https?://[^"\']+)', page)

def chromium_dom(page, tmp_path) -> str:
    "The DOM of `page` after headless Chromium has run its scripts."
    flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync', f'--user-data-dir={tmp_path/"chrome"}', '--virtual-time-budget=15000']
    return subprocess.run([CHROMIUM, *flags, '--dump-dom', page.as_uri()], capture_output=True, text=True, timeout=180).stdout

@pytest.fixture(scope='module')
def offline_site(tmp_path_factory):
    "`make docs` on a copy of the project, once for the tests below (each processing takes a minute): the copy (with `_proc/`), the site and the build's output."
    proj = copy_project(tmp_path_factory.mktemp('docs')/'proj')
    r = run([sys.executable, str(ROOT/'tools'/'render_docs.py'), 'html', str(proj/'site')], cwd=proj, check=True)
    return proj, proj/'site', r.stdout + r.stderr

@pytest.mark.slow
def test_offline_docs_render_a_page_per_notebook(offline_site):
    proj, site, _ = offline_site
    pages = {p.stem for p in site.glob('*.html')}
    want = {p.stem for p in (proj/'nbs').glob('*.ipynb')}
    assert want <= pages, f"missing pages: {want - pages}"
    assert 'LoopConfig' in (site/'00_config.html').read_text()

@pytest.mark.slow
def test_readme_is_rendered_from_index(offline_site, tmp_path):
    sys.path.insert(0, str(ROOT/'tools'))
    import render_docs
    body = render_docs.render_readme(offline_site[0]/'_proc'/'index.ipynb', tmp_path/'README.md')
    assert body == (ROOT/'README.md').read_text(), "README.md is stale: run `make readme`"

@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
@pytest.mark.slow
def test_pages_render_like_nbdev_and_the_report_draws_its_figures(offline_site, tmp_path):
    _, site, log = offline_site
    assert 'Warning' not in log, log[-3000:]                                            # nothing printed but the summary line
    pages = sorted(site.glob('[0-9]*.html')) + [site/'index.html']
    assert len(pages) > 15
    assert not {p.name: u for p in pages if (u := remote_loads(p.read_text()))}           # works offline: no CDN scripts (MathJax, require.js, widgets)
    for img in re.findall(r'<img[^>]*src="([^"]+)"', (site/'09c_streamlit.html').read_text()): assert (site/img).is_file(), img
    found = {p.name: l for p in pages if (l := leaks(visible_text(p.read_text())))}
    assert not found, found
    prompts = visible_text(chromium_dom(site/'03_prompts.html', tmp_path))
    assert not leaks(prompts) and re.search(r'build_prompt¶?\s*def build_prompt\(', prompts)   # show_doc: a heading and the signature
    dom = chromium_dom(site/'11_report.html', tmp_path)
    assert 'Technical report' in dom and 'Perplexity of the test lyrics by genre' in dom
    assert dom.count('class="plotly-graph-div') >= 4       # four figures, each drawn...
    assert dom.count('class="main-svg"') >= 8              # ...into SVG by plotly.js, offline
