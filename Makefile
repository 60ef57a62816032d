# esd: `make run` runs the whole platform, `make test` runs every test. Both set up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced
PYPROJECTS := pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml cli/pyproject.toml)

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): $(PYPROJECTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	@$(BIN)/uv sync --inexact --python $(BIN)/python --quiet
	@touch $(STAMP)

setup: $(STAMP) ## create .venv and install the workspace (uv)
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && { apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }; }; } || echo "setup: no chromium here; the portal's browser tests will skip"

run: setup ## run every service and the gateway; prints URL, ops token, demo API key
	$(BIN)/esd run

# two workers, a test file each at a time: every test platform has its own database and vhost,
# and most of a test's time is waiting on messages, so the two cores are used twice as well.
# `auto` asks conftest.py, which runs one where PostgreSQL's max_connections is too low for two
PYTEST_WORKERS ?= auto

test: setup ## run the whole test suite (needs PostgreSQL and RabbitMQ, see README)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

# mypy takes packages or files, not both: the tests go as files, every tests folder, each file
# named by its path from the root (explicit_package_bases), so two test_documents.py don't clash
TYPED_TESTS := conftest.py tests $(wildcard libs/*/tests services/*/tests)

# bench scripts run as `python bench/x.py`, so bench/ is first on sys.path and `from orders import`
# means bench/orders.py, not the orders service: mypy gets the same path (MYPYPATH=bench).
# billing, subscriptions and credit drop bench/ from sys.path to import their service's package,
# so they are checked apart, without it
BENCH_OWN_PATH := bench/billing.py bench/subscriptions.py bench/credit.py
BENCH_SIBLINGS := $(filter-out $(BENCH_OWN_PATH),$(wildcard bench/*.py))

lint: setup ## ruff, and mypy on the packages, the tests and the benchmarks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p esd_contracts -p esd_platform -p esd_cli -p catalog -p orders -p credit -p keys -p billing -p gateway
	$(BIN)/mypy $(TYPED_TESTS)
	MYPYPATH=bench $(BIN)/mypy $(BENCH_SIBLINGS)
	$(BIN)/mypy $(BENCH_OWN_PATH)

asyncapi: setup ## write the AsyncAPI documents to docs/asyncapi/
	$(BIN)/esd asyncapi

bench: setup ## run every benchmark (figures in bench/RESULTS.md); one: make bench B=keys
	@for b in $(or $(B),orders keys credit catalog billing); do \
		echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || exit 1; done

.PHONY: help setup run test lint asyncapi bench
