# Two entry points do everything on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint format bench clean postgres prometheus chromium help

help:
	@echo "make demo   - throwaway PostgreSQL with synthetic controller data -> gather -> report"
	@echo "make test   - the whole test suite (installs what it needs)"
	@echo "make lint   - ruff check + format check"
	@echo "make bench  - the benchmarks in bench/"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[test]'
	@touch $(STAMP)

postgres:
	@bash scripts/ensure-postgres.sh

prometheus:
	@bash scripts/ensure-prometheus.sh

chromium:
	@bash scripts/ensure-chromium.sh

demo: $(STAMP) postgres
	$(BIN)/metrics-utility demo

test: $(STAMP) postgres prometheus chromium
	$(BIN)/ruff check worker operator tests bench scripts
	$(BIN)/ruff format --check worker operator tests bench scripts
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check worker operator tests bench scripts
	$(BIN)/ruff format --check worker operator tests bench scripts

format: $(STAMP)
	$(BIN)/ruff check --fix worker operator tests bench scripts
	$(BIN)/ruff format worker operator tests bench scripts

bench: $(STAMP) postgres
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo-output
