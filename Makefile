# brainwh — every set-up step lives here, so a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUN    := $(VENV)/.installed-run
DEV    := $(VENV)/.installed-dev
DATA   ?= data

.PHONY: help install demo test test-fast lint serve bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# what brainwh needs to run (seconds from a warm pip cache, well under a minute from a cold one)
$(RUN): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	@touch $@

# plus the test and dev tools (pytest, ruff, scipy, pandas, moto, psycopg, SQLAlchemy)
$(DEV): $(RUN)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(DEV)  ## create .venv and install brainwh with its test and dev tools

demo: $(RUN)  ## install brainwh only, write the sample release, build ./brainwh.duckdb, print answers
	$(BIN)/brainwh demo --data $(DATA)

test: $(DEV)  ## the whole test suite (installs the test tools first)
	@command -v psql >/dev/null 2>&1 || { echo "installing postgresql-client for the psql tests" >&2; \
	  (apt-get update -qq && apt-get install -y -qq postgresql-client >/dev/null) || echo "could not install psql; its tests will skip" >&2; }
	$(BIN)/python -m pytest -q -n auto --dist loadfile

test-fast: $(DEV)  ## the suite without the slow tests
	$(BIN)/python -m pytest -q -n auto --dist loadfile -m "not slow"

lint: $(DEV)  ## ruff
	$(BIN)/ruff check .

serve: $(RUN)  ## serve ./brainwh.duckdb (made by `make demo`) to Postgres clients on 127.0.0.1:5433
	$(BIN)/brainwh serve

bench: $(DEV)  ## benchmarks at --scale full (prints figures and ratios; not a test)
	$(BIN)/python -m bench.run

clean:  ## remove what make made: the demo's warehouse and sample release, the virtualenv, caches
	@if [ -f brainwh.duckdb ]; then \
	  if [ -x $(BIN)/brainwh ] && $(BIN)/brainwh sql "select value from warehouse_info where key = 'built_by'" \
	       --format csv --db brainwh.duckdb 2>/dev/null | grep -q 'brainwh demo'; then \
	    rm -f brainwh.duckdb brainwh.duckdb.lock brainwh.duckdb.wal; \
	  else echo "keeping brainwh.duckdb: make demo did not build it" >&2; fi; fi
	rm -rf $(DATA)/sample-tiny $(DATA)/sample-small $(DATA)/sample-full
	-@rmdir $(DATA) 2>/dev/null || true
	rm -rf $(VENV) .pytest_cache .ruff_cache bench/results
