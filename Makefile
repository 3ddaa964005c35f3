# The README's two commands: `make demo` and `make test`, each from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint venv assets postgres-binaries browser nginx clean bench-capacity bench-erlang bench-forecasts

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=70.1" wheel
	$(BIN)/python -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

# Front-end libraries from the npm registry (package-lock.json pins them), served by the pages
# as static files: the agent desktop's softphone is the Twilio Voice JS SDK, the dashboard's charts
# Chart.js.
VENDOR := ivr/web/static/vendor
$(VENDOR)/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "make assets: npm (Node.js) is needed to install the pages' libraries"; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/@twilio/voice-sdk/dist/twilio.min.js $(VENDOR)/twilio.min.js
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chart.umd.min.js
	touch $@

assets: $(VENDOR)/.installed

# PostgreSQL server binaries for the database tests, Chromium for the browser test and nginx for
# the reverse-proxy test (installed from Debian's packages when missing).
postgres-binaries:
	@bash scripts/install-postgres.sh

browser:
	@bash scripts/install-browser.sh

# nginx for the test that puts deploy/nginx/hotline.conf in front of the server
nginx:
	@bash scripts/install-nginx.sh

test: venv assets postgres-binaries browser nginx
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Demo settings: a throwaway Twilio auth token so the caller simulator can sign requests.
# The line is kept open round the clock in the demo, so simulated callers reach the queues.
DEMO_ENV := TWILIO_AUTH_TOKEN=$${TWILIO_AUTH_TOKEN:-demo-auth-token} HOTLINE_PUBLIC_URL=$${HOTLINE_PUBLIC_URL:-http://127.0.0.1:5000} HOTLINE_ALWAYS_OPEN=1

demo: venv assets
	$(BIN)/hotline config check
	$(DEMO_ENV) $(BIN)/hotline db upgrade
	$(DEMO_ENV) $(BIN)/hotline demo

# Benchmarks (they print a table; the README quotes it). statsforecast, the forecast
# benchmark's comparison, lives in its own venv: it is not a dependency of Hotline.
BENCH_VENV := .venv-bench

$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -e ".[test]" statsforecast
	touch $@

# The capacity benchmark's load generator (aiohttp) is the bench extra.
bench-capacity: venv
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/capacity.py --db sqlite --callers 5000 --calls-per-s 20 --seconds 60 --json benchmarks/results/capacity_sqlite.json
	$(BIN)/python benchmarks/capacity.py --db postgresql --callers 5000 --calls-per-s 20 --seconds 60 --json benchmarks/results/capacity_postgresql.json

bench-erlang: venv
	$(BIN)/python benchmarks/erlang.py

bench-forecasts: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python benchmarks/forecasts.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) instance .pytest_cache
