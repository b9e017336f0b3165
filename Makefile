# cdt-nlp: `make demo` and `make test` set everything up from a fresh clone (Python 3.11 + make).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test evaluate bench corpus train lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

## demo: install and check the bundled example note against D0370
demo: $(VENV)/.installed
	$(BIN)/cdt-nlp check cdt_nlp/examples/ultrasound_capture_only.txt --code D0370

## test: install with dev extras and run the test suite
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

## evaluate: item accuracy on the held-out dev set (the README table)
evaluate: $(VENV)/.installed
	$(BIN)/cdt-nlp evaluate corpus/dev.jsonl

## bench: cold start (ratios against spaCy alone) and batch throughput (ratios against the tokenizer
## alone and medspaCy, 20,000 notes; creates benchmarks/.venv-medspacy on first use)
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_load.py
	$(BIN)/python benchmarks/bench_audit.py

## corpus: rebuild the generated training corpus byte for byte
corpus: $(VENV)/.installed
	$(BIN)/python corpus/generate.py --seed 13 --out corpus/train.jsonl

## train: retrain the shipped code suggester from the training corpora
train: $(VENV)/.installed
	$(BIN)/cdt-nlp train --out models/suggester

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check cdt_nlp tests
	$(BIN)/ruff format --check cdt_nlp tests

format: $(VENV)/.installed-dev
	$(BIN)/ruff format cdt_nlp tests
	$(BIN)/ruff check --fix cdt_nlp tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
