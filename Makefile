# shopstream: `make up` runs the whole shop locally; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHOPSTREAM := $(BIN)/shopstream
STACK_DIR ?= .stack
TEST_RECORD := $(STACK_DIR)/started-by-test

.PHONY: install up down status test unit

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## The whole shop on this machine: servers, workers, two API replicas behind the gateway,
## and a demo catalog of 1,000 products (seeded once: a second run adds nothing).
up: install
	$(SHOPSTREAM) stack up
	$(SHOPSTREAM) seed --products 1000
	$(SHOPSTREAM) stack status
	@$(SHOPSTREAM) stack urls

## Stop everything `make up` started.
down:
	@if [ -x $(SHOPSTREAM) ]; then $(SHOPSTREAM) stack down; fi

status: install
	$(SHOPSTREAM) stack status

## Start what is not running, run every test, stop what this target started.
test: install
	@rm -f $(TEST_RECORD)
	@$(SHOPSTREAM) stack up --record $(TEST_RECORD) || { $(SHOPSTREAM) stack down --recorded $(TEST_RECORD); exit 1; }
	@$(BIN)/pytest; status=$$?; $(SHOPSTREAM) stack down --recorded $(TEST_RECORD); exit $$status

## The pure domain tests alone: no server needed.
unit: install
	$(BIN)/pytest tests/unit
