# woodpecker-etl — the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# dbt (the models as a dbt package) lives in its own environment: its pins conflict with the dev tools.
DBT_VENV ?= .venv-dbt
export RUNTIME__DLTHUB_TELEMETRY := false

.PHONY: install venv dbt-venv browser demo test lint unit bench soak clean

# What running woodpecker-etl and the demo needs: the package, its runtime dependencies and the dashboard.
$(BIN)/woodpecker-etl: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dashboard]'
	@touch $@

# Everything `make test` needs besides (pytest, linters, the notebook and Dagster extras), in the same pip
# run as the runtime: one resolution and one build of the package instead of two.
$(VENV)/.dev-extras: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dashboard,dev]'
	@touch $(BIN)/woodpecker-etl $@

install: $(BIN)/woodpecker-etl

venv: $(VENV)/.dev-extras

# The `dbt` extra of pyproject.toml, installed alone (tests/transforms/test_dbt_package.py runs it).
$(DBT_VENV)/bin/dbt: pyproject.toml
	$(PYTHON) -m venv $(DBT_VENV)
	$(DBT_VENV)/bin/pip install --quiet --upgrade pip
	$(PYTHON) -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['dbt']))" > $(DBT_VENV)/requirements.txt
	$(DBT_VENV)/bin/pip install --quiet -r $(DBT_VENV)/requirements.txt
	@touch $@

dbt-venv: $(DBT_VENV)/bin/dbt

# The dashboard's browser tests drive the distribution's Chromium (Playwright cannot download its own here).
CHROMIUM := $(firstword $(wildcard /usr/bin/chromium-headless-shell /usr/bin/chromium))
browser:
ifeq ($(CHROMIUM),)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell >/dev/null; \
	else \
		echo "The browser tests need Chromium: run 'sudo apt-get install chromium-headless-shell' (or install chromium), then make test again."; \
		exit 1; \
	fi
endif

demo: install
	$(BIN)/woodpecker-etl demo
	$(BIN)/woodpecker-etl dashboard --export woodpecker_demo.html --duckdb-path woodpecker_demo.duckdb

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The suite runs in parallel processes (pytest-xdist): most tests wait on HTTP or a database, not the CPU.
TEST_WORKERS ?= 3
unit: venv dbt-venv browser
	$(BIN)/pytest -q -n $(TEST_WORKERS)

# The three environments do not depend on each other: they are made side by side, then lint and unit run.
test:
	@$(MAKE) --no-print-directory --jobs=3 --output-sync=target venv dbt-venv browser
	@$(MAKE) --no-print-directory lint unit

clean:
	rm -rf $(VENV) $(DBT_VENV) .pytest_cache .mypy_cache .ruff_cache woodpecker_demo.duckdb woodpecker_demo.html woodpecker.duckdb

bench: venv
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The reliability campaign at full size (docs/reliability.md); `make test` runs it small.
soak: venv
	$(BIN)/python -m tests.reliability.soak $(SOAK_ARGS)
