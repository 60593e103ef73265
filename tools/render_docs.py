"""Offline docs for LyricLoop: nbdev's notebook processing, then static HTML (or README.md) with nbconvert.

Usage:  python tools/render_docs.py html             # _proc/ and _site_offline/ (one page per notebook + index.html)
        python tools/render_docs.py readme           # README.md from nbs/index.ipynb
        python tools/render_docs.py outputs NB...    # run notebooks in place (skipping `slow`/`gpu` cells), keeping outputs
Quarto (what `nbdev_docs` uses) cannot be installed offline; this is the same processing with nbconvert as renderer.
Notebooks keep plotly figures as plotly JSON (`application/vnd.plotly.v1+json`, no library inside); the HTML pages draw them
with one copy of plotly.js taken from the installed plotly package, so the docs work offline and the notebooks stay small.
The pages load nothing else: nbconvert's lab template would fetch MathJax, require.js, the jupyter-widgets renderer and mermaid
from CDNs (no page has math, widget state or diagrams), so `OFFLINE_TEMPLATE` leaves those blocks empty; images in `nbs/images/`
are copied beside the pages.
"""
import sys, re, html, json, shutil
import yaml
from pathlib import Path
import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter, MarkdownExporter

# nbdev runs every cell that imports something while it builds the docs (so `show_doc` sees the names), and tells the author when
# such a cell also holds other code, which then runs too. Our example cells mix the two on purpose and run in a few seconds
# (`nbdev_test` runs them all anyway): advice for a notebook's author, nothing a reader of `make docs` can act on.
NBDEV_ADVICE = 'Found cells containing imports and other code'

def process(path=None):
    "Run nbdev's processing (`nbdev_proc_nbs` minus its attempt to download Quarto); return the `_proc` folder."
    import os, warnings
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.serve import proc_nbs
    import nbdev.doclinks
    cfg = get_config()
    path = Path(path) if path else cfg.nbs_path
    refresh_quarto_yml()
    nbdev.doclinks._build_modidx()
    nbdev_sidebar.__wrapped__(path=path)
    warnings.filterwarnings('ignore', NBDEV_ADVICE, UserWarning)
    os.environ['PYTHONWARNINGS'] = f'ignore:{NBDEV_ADVICE}:UserWarning'    # the notebooks are processed in spawned workers too
    return Path(proc_nbs(path))

def _frontmatter(nb):
    "Split nbdev's raw YAML front-matter cell (title, description) off `nb`."
    meta = {}
    if nb.cells and nb.cells[0].cell_type == 'raw' and nb.cells[0].source.startswith('---'):
        meta = yaml.safe_load(nb.cells[0].source.strip().strip('-')) or {}
        nb.cells = nb.cells[1:]
    return meta

def _with_title(nb, meta):
    "Put the front-matter title and description back as the first markdown cell."
    head = f"# {meta.get('title', '')}\n\n" + (f"> {meta['description']}\n" if meta.get('description') else '')
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(head))
    return nb

def _draw_plotly(nb) -> bool:
    "Give each plotly JSON output an HTML rendering (a div and a `Plotly.newPlot` call); whether `nb` has any."
    import plotly.io as pio
    found = False
    for c in nb.cells:
        for o in c.get('outputs', []):
            fig = o.get('data', {}).get('application/vnd.plotly.v1+json')
            if fig is None: continue
            o['data']['text/html'] = pio.to_html(pio.from_json(json.dumps(fig)), include_plotlyjs=False, full_html=False)
            found = True
    return found

def _plotly_js(dst: Path) -> str:
    "Copy the installed plotly.js beside the pages once; the script tag that loads it."
    import plotly
    js = Path(plotly.__file__).parent/'package_data'/'plotly.min.js'
    if not (dst/js.name).exists(): shutil.copy(js, dst/js.name)
    return f'<script src="{js.name}" charset="utf-8"></script>'

_PANDOC_LINK = re.compile(r'\[([^\]]*)\]\(([^)\s]+)\)\{([^}]*)\}')   # [text](url){target="_blank" style="..."}
_PANDOC_ATTRS = re.compile(r'\{[#.][^}\n]*\}')                           # {#id .class} after headings and spans

def quarto_markdown(md: str) -> str:
    "Pandoc/Quarto markdown as plain CommonMark: attributed links become HTML links, other attribute blocks and fences go."
    def link(m):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m[3]))
        extra = ''.join(f' {k}="{html.escape(v)}"' for k, v in attrs.items() if k in ('target', 'style'))
        return f'<a href="{html.escape(m[2])}"{extra}>{m[1]}</a>'
    md = _PANDOC_LINK.sub(link, md)
    md = re.sub(r'^:::+.*$', '', md, flags=re.M)
    return _PANDOC_ATTRS.sub('', md)

def quarto_cells(nb):
    "Apply the cell directives Quarto would (`echo: false`, `output: asis`, `include: false`) and drop the `#|` lines, as `nbdev_docs` pages show."
    from nbdev.process import extract_directives
    cells = []
    for c in nb.cells:
        if c.cell_type == 'markdown': c.source = quarto_markdown(c.source)
        if c.cell_type != 'code': cells.append(c); continue
        d = extract_directives(c, remove=True)                 # parses the leading `#|` lines (and keeps Quarto's: they go next)
        c.source = re.sub(r'\A(\s*#\|.*(\n|\Z))+', '', c.source)
        flag = lambda k: d.get(k, [''])[0].lower() == 'false'
        if flag('include:'): continue
        if d.get('output:', [''])[0] == 'asis':                # show_doc and friends: their markdown output *is* the page
            md = ''.join(o.get('data', {}).get('text/markdown', '') for o in c.get('outputs', []))
            cells.append(nbformat.v4.new_markdown_cell(quarto_markdown(md))); continue
        if flag('echo:'): c.source = ''; c.metadata.setdefault('transient', {})['remove_source'] = True
        for o in c.get('outputs', []):
            if 'text/markdown' in o.get('data', {}): o['data']['text/markdown'] = quarto_markdown(o['data']['text/markdown'])
        cells.append(c)
    nb.cells = cells
    return nb

# nbconvert's lab page without the scripts it would load from CDNs (MathJax, require.js, jupyter-widgets, mermaid).
OFFLINE_TEMPLATE = {'offline.html.j2': "{%- extends 'lab/index.html.j2' -%}" + ''.join(
    f"{{% block {b} %}}{{% endblock {b} %}}" for b in ('html_head_js', 'jupyter_widgets', 'html_head_js_mathjax', 'html_head_js_mermaidjs'))}

def _drop_empty_outputs(nb):
    "Remove display outputs with no data at all (a plotly figure whose JSON was left out): nothing to show, and nbconvert warns about each."
    for c in nb.cells:
        if 'outputs' in c: c.outputs = [o for o in c.outputs if o.get('output_type') not in ('display_data', 'execute_result') or o.get('data')]
    return nb

_NAV = '<nav style="padding:.5em 1em;border-bottom:1px solid #ddd"><a href="index.html">LyricLoop</a> · <a href="contents.html">all pages</a></nav>'

def render_html(src='_proc', dst='_site_offline'):
    "Render every processed notebook in `src` to `dst/NAME.html`, plus an index page."
    src, dst = Path(src), Path(dst)
    if dst.exists(): shutil.rmtree(dst)
    dst.mkdir(parents=True)
    exp = HTMLExporter(template_name='lab', template_file='offline.html.j2', extra_loaders=[DictLoader(OFFLINE_TEMPLATE)],
                       exclude_input_prompt=True, exclude_output_prompt=True)
    if (src/'images').is_dir(): shutil.copytree(src/'images', dst/'images')
    pages = []
    for f in sorted(src.glob('*.ipynb')):
        nb = nbformat.read(f, as_version=4)
        meta = _frontmatter(nb)
        nb = _drop_empty_outputs(quarto_cells(nb))
        figures = _draw_plotly(nb)
        body, _ = exp.from_notebook_node(_with_title(nb, meta))
        if figures: body = body.replace('</head>', _plotly_js(dst) + '</head>', 1)
        body = re.sub(r'href="([\w\-]+)\.ipynb', r'href="\1.html', body)
        body = re.sub(r'(<body[^>]*>)', r'\1' + _NAV, body, count=1)
        (dst/f'{f.stem}.html').write_text(body)
        pages.append((f.stem, meta.get('title', f.stem), meta.get('description', '')))
    items = '\n'.join(f'<li><a href="{n}.html">{html.escape(t)}</a> — {html.escape(d)}</li>' for n, t, d in pages)
    (dst/'contents.html').write_text(f'<!doctype html><meta charset="utf-8"><title>LyricLoop docs</title>'
                                     f'<h1>LyricLoop — contents</h1><ul>{items}</ul>')
    return [dst/f'{n}.html' for n, *_ in pages]

def run_outputs(paths, skip=('slow', 'gpu')):
    "Execute notebooks in place with nbdev's executor, keeping their outputs for the docs; cells flagged `skip` or `eval: false` stay unrun."
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    from nbdev.process import extract_directives
    def unrun(cell):
        if cell.cell_type != 'code': return True
        d = extract_directives(cell, remove=False)
        return bool(set(skip) & d.keys()) or d.get('eval:', [''])[0].lower() == 'false'
    for p in map(Path, paths):
        nb = read_nb(p)
        for c in nb.cells:
            if c.cell_type == 'code': c.outputs = []
        with working_directory(p.parent): CaptureShell(p).run_all(nb, exc_stop=True, preproc=unrun)
        write_nb(nb, p)
        print(f"ran {p}")

def render_readme(src='_proc/index.ipynb', dst='README.md'):
    "Render the processed `index.ipynb` to GitHub markdown."
    nb = nbformat.read(src, as_version=4)
    nb = _with_title(nb, _frontmatter(nb))
    nb.metadata['language_info'] = {'name': 'python'}          # code cells become ```python blocks (tests/test_readme.py runs them)
    nb = quarto_cells(nb)
    body, _ = MarkdownExporter().from_notebook_node(nb)
    body = re.sub(r'\n{3,}', '\n\n', body).strip() + '\n'
    Path(dst).write_text(body)
    return body

if __name__ == '__main__':
    what = sys.argv[1] if len(sys.argv) > 1 else 'html'
    if what == 'outputs': run_outputs(sys.argv[2:]); sys.exit()
    proc = process()
    if what == 'html':
        pages = render_html(proc, sys.argv[2] if len(sys.argv) > 2 else '_site_offline')
        print(f"{len(pages)} pages in {pages[0].parent}/ — open index.html (contents.html lists every page)")
    elif what == 'readme':
        render_readme(proc/'index.ipynb', 'README.md'); print("README.md written")
    else: sys.exit(f"unknown target {what!r}: use html or readme")
