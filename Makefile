# Two commands on a fresh machine: `make run` and `make test`. Both create .venv and install
# the project into it first; nothing outside the repository is assumed but Python >= 3.11
# (and, for the browser tests, Debian's chromium, which .ci/install-chromium installs; for the
# PostgreSQL tests, Debian's postgresql, which .ci/install-postgresql installs; for the
# exposition checks, Debian's prometheus for its promtool, which .ci/install-promtool installs).

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501
ADDRESS ?= 127.0.0.1# another address needs operator accounts or dashboard_open (README: Operator accounts)

.PHONY: install tools compile run test bench browser postgres promtool clean

# uv installs the same versions pip resolves, faster than pip (most of `make test`'s time
# outside pytest was pip). --compile-bytecode as pip does: with PYTHONDONTWRITEBYTECODE set,
# as on our machines, a venv without .pyc files compiles every import in every process, and
# each CLI call of the tests took seconds longer.
$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: Python >= 3.11 is required" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Schemathesis, the client we did not write that fuzzes `prolight serve` from its own OpenAPI
# schema, lives in a venv of its own: it is a program the tests run, not a library they
# import, and its newer releases need a jsonschema-rs that langgraph-api (langgraph dev)
# refuses, so the two cannot share one environment.
SCHEMATHESIS_VERSION := 4.32.5
SCHEMATHESIS := $(VENV)/schemathesis/bin/schemathesis
$(SCHEMATHESIS): $(STAMP)
	$(BIN)/uv venv --quiet --python $(BIN)/python $(VENV)/schemathesis
	$(BIN)/uv pip install --quiet --python $(VENV)/schemathesis/bin/python 'schemathesis==$(SCHEMATHESIS_VERSION)'

tools: $(SCHEMATHESIS)

run: install compile
	$(BIN)/prolight dashboard --address $(ADDRESS) --port $(PORT)

browser:
	@bash .ci/install-chromium

postgres:
	@bash .ci/install-postgresql

promtool:
	@bash .ci/install-promtool

# Two pytest workers: a CLI call is a second of imports on one core, so one worker leaves
# the other core idle. worksteal balances the long browser and worker-process tests.
test: install tools browser postgres promtool compile
	$(BIN)/python -m pytest -n 2 --dist worksteal --durations=15

# Where Python writes no .pyc (PYTHONDONTWRITEBYTECODE, as on our machines) every process
# compiles the project's modules again: half a second of each CLI call the tests make.
# Compiled here, once, and again only for what changed.
compile: install
	@$(BIN)/python -m compileall -q graph agents ui tests bench

bench: install
	$(BIN)/python -m bench.dag
	$(BIN)/python -m bench.overhead
	$(BIN)/python -m bench.ui
	$(BIN)/python -m bench.scale
	$(BIN)/python -m bench.cli
	$(BIN)/python -m bench.cache
	$(BIN)/python -m bench.stream
	$(BIN)/python -m bench.storage

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
