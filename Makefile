# woodpecker-etl — the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export RUNTIME__DLTHUB_TELEMETRY := false

.PHONY: venv browser demo test lint unit bench soak clean

$(BIN)/woodpecker-etl: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

venv: $(BIN)/woodpecker-etl

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

demo: venv
	$(BIN)/woodpecker-etl demo
	$(BIN)/woodpecker-etl dashboard --export woodpecker_demo.html --duckdb-path woodpecker_demo.duckdb

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: venv browser
	$(BIN)/pytest -q

test: lint unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache woodpecker_demo.duckdb woodpecker_demo.html woodpecker.duckdb

bench: venv
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The reliability campaign at full size (docs/reliability.md); `make test` runs it small.
soak: venv
	$(BIN)/python -m tests.reliability.soak $(SOAK_ARGS)
