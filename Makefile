# newswatch — everything a new machine needs, from Python 3.11 and the package index.
#   make demo   set up, then run the batch job on seeds/ (alerts in ./newswatch-out)
#   make test   set up, then lint (ruff, mypy) and run the whole test suite
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: setup demo test lint typecheck bench lock clean browser

setup: $(STAMP)

# Install exactly the locked versions (requirements.lock, constraints), then the project itself.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,dask]"
	touch $(STAMP)

demo: setup
	$(BIN)/newswatch batch seeds --out newswatch-out
	@echo "--- alerts (newswatch-out/alerts/*.jsonl):"
	@cat newswatch-out/alerts/*.jsonl | $(BIN)/python -c "import sys,json; [print(f\"{a['severity']:<8} {a['rule_id']:<28} {a['article']['title'][:70]}\") for a in map(json.loads, sys.stdin)]"
	@echo "--- summary: newswatch-out/summary.json"

test: setup browser lint
	$(BIN)/python -m pytest -q

# Headless Chromium for the report's browser tests (Debian's package; needs root and apt-get).
# Without it those tests skip locally and fail under CI=true.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } \
	      || echo "make browser: installing chromium failed; the browser tests will fail under CI=true" >&2; \
	  else \
	    echo "make browser: /usr/bin/chromium is missing and cannot be installed here (need root and apt-get)" >&2; \
	  fi; \
	fi

lint: setup
	$(BIN)/ruff check pipeline transforms schemas tests bench
	$(BIN)/mypy schemas transforms/query

bench: setup
	$(BIN)/python bench/bench_match.py
	$(BIN)/python bench/bench_batch.py

# Re-resolve the lock from pyproject.toml (needs the package index).
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install --quiet --upgrade "pip>=24"
	.lockenv/bin/python -m pip install --quiet ".[dev,dask]"
	.lockenv/bin/python -m pip freeze --exclude newswatch > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) newswatch-out build *.egg-info
