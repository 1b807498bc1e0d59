# lakeward — every target bootstraps the virtualenv it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv demo test lint format bench clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install lakeward with its dev tools (pinned by constraints.txt)

demo: $(STAMP) ## Run the end-to-end demo on the embedded (local) backend
	$(BIN)/lakeward demo

test: $(STAMP) ## Run the whole test suite
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP) ## ruff (lint + format check) and mypy --strict
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy --strict src/

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests bench examples
	$(BIN)/ruff format src tests bench examples

bench: $(STAMP) ## Run the benchmarks (ratios against baselines measured in the same run)
	$(BIN)/python bench/bench_storage.py
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_events.py
	$(BIN)/python bench/bench_query.py
	$(BIN)/python bench/bench_auditlog.py

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
