"The offline docs build, looked at in a real headless browser: the report page loads and its plotly figures draw."
import shutil, subprocess, sys
import pytest
from conftest import ROOT, run

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')

@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_report_page_draws_its_figures(project_copy, tmp_path):
    site = tmp_path/'site'
    run([sys.executable, str(ROOT/'tools'/'render_docs.py'), 'html', str(site)], cwd=project_copy, check=True)
    flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync', f'--user-data-dir={tmp_path/"chrome"}', '--virtual-time-budget=15000']
    dom = subprocess.run([CHROMIUM, *flags, '--dump-dom', (site/'11_report.html').as_uri()], capture_output=True, text=True, timeout=180).stdout
    assert 'Technical report' in dom and 'Perplexity of the test lyrics by genre' in dom
    assert dom.count('class="plotly-graph-div') >= 4       # four figures, each drawn...
    assert dom.count('class="main-svg"') >= 8              # ...into SVG by plotly.js, offline
