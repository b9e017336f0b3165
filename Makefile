# cdt-nlp: `make demo` and `make test` set everything up from a fresh clone (Python 3.11 + make).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test browser serve notebooks lab evaluate bench corpus train re2-cache lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,notebooks,dask]'
	touch $(VENV)/.installed $@

## demo: install and check the bundled example note against D0370
demo: $(VENV)/.installed
	$(BIN)/cdt-nlp check cdt_nlp/examples/ultrasound_capture_only.txt --code D0370

## browser: Debian's chromium and chromedriver for the browser tests (apt; never a downloaded browser)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		command -v apt-get >/dev/null || { echo "Install Debian's chromium and chromium-driver for the browser tests"; exit 1; }; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; \
	fi

## test: install with dev extras (and chromium) and run the test suite
test: $(VENV)/.installed-dev browser
	$(BIN)/python -m pytest

## notebooks: re-execute the reviewer notebooks in place (outputs are committed)
notebooks: $(VENV)/.installed-dev
	$(BIN)/python notebooks/execute.py

## lab: open the notebooks in JupyterLab (local only)
lab: $(VENV)/.installed-dev
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 notebooks/

## serve: the local web page for billers on http://127.0.0.1:8000
serve: $(VENV)/.installed
	$(BIN)/cdt-nlp serve

## evaluate: item accuracy on the held-out dev set (the README table)
evaluate: $(VENV)/.installed
	$(BIN)/cdt-nlp evaluate corpus/dev.jsonl

## bench: cold start (ratios against spaCy alone) and batch throughput (ratios against the tokenizer
## alone and medspaCy, 20,000 notes; creates benchmarks/.venv-medspacy on first use)
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_load.py
	$(BIN)/python benchmarks/bench_audit.py
	$(BIN)/python benchmarks/bench_web.py

## re2-cache: after editing a rule file or fastre.py, rewrite the RE2 translations read at start-up
re2-cache: $(VENV)/.installed
	$(BIN)/python -m cdt_nlp.re2_cache

## corpus: rebuild the generated training corpus byte for byte
corpus: $(VENV)/.installed
	$(BIN)/python corpus/generate.py --seed 13 --out corpus/train.jsonl

## train: retrain the shipped models: the sentence-item classifier, then the code suggester (whose
## features include the items, so it is trained second)
train: $(VENV)/.installed
	$(BIN)/cdt-nlp train-items --out models/sentence_items
	$(BIN)/cdt-nlp train --out models/suggester

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check cdt_nlp tests
	$(BIN)/ruff format --check cdt_nlp tests

format: $(VENV)/.installed-dev
	$(BIN)/ruff format cdt_nlp tests
	$(BIN)/ruff check --fix cdt_nlp tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
