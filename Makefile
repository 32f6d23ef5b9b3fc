# Two commands: `make run` (set up, migrate, seed demo data, serve) and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
QUIET := grep -v 'WARNING: Location' || true
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup system bench lint clean

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip 2>&1 | { $(QUIET); }
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev,postgres]' 2>&1 | { $(QUIET); }
	@touch $(STAMP)

# Debian packages: chromium (browser tests), a CJK font (PDF), poppler (PDF checks),
# postgresql (the second test run starts its own throwaway cluster).
system:
	@bash scripts/system-deps.sh

setup: system $(STAMP)

run: setup
	$(BIN)/kehu serve --demo --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The whole suite on SQLite, then the db and web suites on a private PostgreSQL cluster
# (tests/backends.py; skipped with one message where PostgreSQL cannot run).
test: setup lint
	$(BIN)/pytest
	$(BIN)/pytest -rs --db=postgresql tests/db tests/web

bench: setup
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
