# Everything a fresh machine needs is set up here: `make demo` and `make test` create .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,load]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ocpp-harness run

# Test modules over worker processes (pytest-xdist): TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 3
test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check ocppj harness simulator csms tests
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/latency.py --pin
	$(PY) bench/csms_throughput.py
	$(PY) bench/stations.py --stations 10000
	$(PY) bench/run_suite.py

clean:
	rm -rf $(VENV) reports/2* reports/latest
