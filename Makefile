# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test fuzz chaos soak hostile bench lint demo schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ops-gateway serve

demo: $(STAMP)
	$(BIN)/ops-gateway serve --sandbox

test: $(STAMP)
	$(BIN)/ruff check gateway schema tests bench
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider

# Longer property-based runs than make test: the access rules (3,000 random sequences) and
# GraphQL fuzzing (10,000 cases; its section of bench/RELIABILITY.md is rewritten).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q -p no:cacheprovider -o timeout=3600 \
		tests/security/test_access_rules_stateful.py tests/security/test_graphql_fuzz.py

# Faults: every backend x every fault, then ten SIGKILL cycles under load; each writes its
# section of bench/RELIABILITY.md.
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos
	$(BIN)/python -m bench.kill_loop

# 200 clients for 60 s (SOAK_ARGS="--seconds 600" for longer) on 1 and 2 workers.
soak: $(STAMP)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

# Hostile clients at full size (a 50,000-request burst from one token, 10,000 subscribes,
# 2,000 idle websockets, slowloris, trickled bodies) while another subject is timed.
hostile: $(STAMP)
	$(BIN)/python -m bench.hostile

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check gateway schema tests bench
	$(BIN)/ruff format --check gateway schema tests bench
	$(BIN)/lint-imports

# The SDL, and the trusted-document manifest of the dashboard's operations (tests check both).
schema: $(STAMP)
	$(BIN)/ops-gateway export-schema > schema.graphql
	$(BIN)/ops-gateway documents manifest examples/operations > examples/operations/manifest.json

clean:
	rm -rf $(VENV) build *.egg-info
