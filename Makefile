# Maillage: `make run` runs the platform, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite bench install services lint typecheck clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

services:
	scripts/ensure-services.sh rabbitmq

run: install services
	$(BIN)/maillage up

test: install
	scripts/ensure-services.sh rabbitmq postgres
	MAILLAGE_TEST_DATABASES=$$($(BIN)/python scripts/test-databases.py) $(BIN)/python -m pytest -q -p no:cacheprovider

test-sqlite: install services
	MAILLAGE_TEST_DATABASES=sqlite $(BIN)/python -m pytest -q -p no:cacheprovider

# Each benchmark prints its figures against its issue's targets; run them on a quiet machine.
bench: install services
	scripts/ensure-services.sh postgres
	$(BIN)/python bench/bus.py
	$(BIN)/python bench/bus.py --database postgresql
	$(BIN)/python bench/messaging.py --workers 2
	$(BIN)/python bench/directory.py

lint: install
	$(BIN)/ruff check services tests bench
	$(BIN)/lint-imports  # the contracts in pyproject.toml [tool.importlinter]

typecheck: install
	$(BIN)/mypy services

clean:
	rm -rf $(VENV) var/*.db
