# brainwh — every set-up step lives here, so a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= data

.PHONY: help install demo test test-fast lint serve bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install brainwh with its test and dev tools

demo: $(STAMP)  ## generate the sample release, build the warehouse, print answers
	$(BIN)/brainwh demo --data $(DATA)

test: $(STAMP)  ## the whole test suite
	@command -v psql >/dev/null 2>&1 || { echo "installing postgresql-client for the psql tests" >&2; \
	  (apt-get update -qq && apt-get install -y -qq postgresql-client >/dev/null) || echo "could not install psql; its tests will skip" >&2; }
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)  ## the suite without the slow tests
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check .

serve: $(STAMP)  ## serve $(DATA)/brainwh.duckdb (made by `make demo`) to Postgres clients on 127.0.0.1:5433
	$(BIN)/brainwh serve --db $(DATA)/brainwh.duckdb

bench: $(STAMP)  ## benchmarks at --scale full (prints figures and ratios; not a test)
	$(BIN)/python -m bench.run

clean:  ## remove generated data and the virtualenv
	rm -rf $(VENV) $(DATA) .pytest_cache .ruff_cache bench/results brainwh.duckdb
