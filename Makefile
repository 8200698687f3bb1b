# woodpecker-etl — the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export RUNTIME__DLTHUB_TELEMETRY := false

.PHONY: install venv demo test lint unit bench soak clean

# What running woodpecker-etl (and the demo) needs: the package and its runtime dependencies.
$(BIN)/woodpecker-etl: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

# Everything `make test` needs besides: pytest, linters, the notebook and Dagster extras.
$(VENV)/.dev-extras: $(BIN)/woodpecker-etl
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/woodpecker-etl

venv: $(VENV)/.dev-extras

demo: install
	$(BIN)/woodpecker-etl demo

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -q

test: lint unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache woodpecker_demo.duckdb woodpecker.duckdb

bench: venv
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The reliability campaign at full size (docs/reliability.md); `make test` runs it small.
soak: venv
	$(BIN)/python -m tests.reliability.soak $(SOAK_ARGS)
