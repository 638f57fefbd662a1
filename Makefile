# Every target bootstraps what it needs: a pinned uv in .tools, then the locked environment in .venv.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test lint typecheck bench setup clean demo

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --quiet
	touch $@

setup: $(VENV)/.synced

## make run: the HTTP API and admin pages on 127.0.0.1:8000, embedded SQLite, with the demo account.
run: setup
	$(BIN)/seatledger serve --demo

LINT_PATHS := src tests scripts $(wildcard bench)

lint: setup
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

## make test: lint, types, import contracts, then the whole suite on SQLite and a throwaway PostgreSQL.
test: lint typecheck
	scripts/ensure-chromium
	scripts/ensure-wrk
	scripts/with-postgres $(BIN)/pytest -p no:cacheprovider -n 2 --dist loadgroup \
		--cov --cov-report=term --cov-report=json:.coverage.json $(PYTEST_ARGS)
	$(BIN)/python scripts/check-domain-coverage .coverage.json

## make bench: engine against raw SQL in the same run (docs/performance.md); BENCH_ARGS=--full etc.
bench: setup
	scripts/ensure-wrk
	scripts/with-postgres $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf .tools $(VENV) .coverage .coverage.* .mypy_cache .ruff_cache test-artifacts
