# Two commands for a newcomer: `make console` and `make test`. Both install first if needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install console test lint telegram bench eval

install: $(STAMP)

# torch is installed first and pinned, so pip takes the local CPU wheel, not a CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

console: $(STAMP)
	$(BIN)/python -m bot console

telegram: $(STAMP)
	$(BIN)/python -m bot telegram

eval: $(STAMP)
	$(BIN)/python -m bot eval

bench: $(STAMP)
	$(BIN)/python -m bot bench

lint: $(STAMP)
	$(BIN)/ruff check bot embeddings corpus tests
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/python -m pytest
