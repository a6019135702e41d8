# realsr — set-up, tests and benchmarks. `make install` then `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared

.PHONY: install test test-fast lint bench

install: $(BIN)/realsr

$(BIN)/realsr: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	@touch $@

test: $(BIN)/realsr
	$(BIN)/python -m pytest -n 2 -q

lint: $(BIN)/realsr
	$(BIN)/ruff check realsr_cli tests benchmarks
	$(BIN)/ruff format --check realsr_cli tests benchmarks

bench: $(BIN)/realsr
	$(BIN)/python -m benchmarks
