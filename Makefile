# LyricLoop: the two commands of the README are `make demo` and `make test`; both set up .venv first.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.lyricloop-installed
DEMO   ?= runs/demo
# where pip finds torch: PyPI by default (CUDA build on Linux); TORCH_INDEX=https://download.pytorch.org/whl/cpu for the CPU-only build
TORCH_INDEX ?=
TORCH_PIP := torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))

.PHONY: setup demo test check test-min docs readme export clean-nbs bench

setup: $(STAMP)

# CPU torch first: an unpinned torch (pulled in by transformers/peft) would fetch a multi-GB CUDA build.
$(STAMP): settings.ini setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_PIP)
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(BIN)/lyricloop demo --out $(DEMO)

# Every notebook as a test and pytest (which also checks that notebooks are exported, clean and the README is current), side by side,
# sharing one session cache and the one demo run (tools/test_all.py); the times at the end.
test: setup
	$(BIN)/python tools/test_all.py

# The inner loop: every notebook but the report, and the tests not marked slow (no trained run, no kill, no browser).
check: setup
	$(BIN)/python tools/test_all.py --check

# The declared minimum versions: settings.ini's floors installed exactly (tools/min_requirements.py) into a second venv,
# CPU torch first, then the fast notebooks and one short embedded training (the CLI's `train`, adapter written) on them.
MIN_VENV ?= .venv-min
MIN_NBS  ?= 00_config 00a_sections 01_environment 02_clean 02b_corpus 02c_scan 02d_data 03_prompts 04_embedded 05_train
test-min:
	rm -rf $(MIN_VENV)
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install -q --upgrade pip
	$(MIN_VENV)/bin/python -m pip install -q $(TORCH_PIP)
	$(MIN_VENV)/bin/python -m pip install -q $$($(PYTHON) tools/min_requirements.py) -e ".[dev]"
	$(MIN_VENV)/bin/python -m pip list 2>/dev/null | grep -iE '^(transformers|tokenizers|peft|trl|datasets|accelerate|bitsandbytes|pyarrow|torch) '
	for nb in $(MIN_NBS); do $(MIN_VENV)/bin/nbdev_test --path nbs/$$nb.ipynb || exit 1; done
	$(MIN_VENV)/bin/python -m pytest -q tests/test_train.py -k test_run_writes_adapter_history_config

# Offline docs: nbdev's notebook processing (the step before Quarto), then static HTML, one page per notebook.
docs: setup
	$(BIN)/python tools/render_docs.py html _site_offline

# Users with Quarto installed get the full site instead: $(BIN)/nbdev_docs

readme: setup
	$(BIN)/python tools/render_docs.py readme

export: setup
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean

bench: setup
	$(BIN)/python bench/bench_prepare.py
