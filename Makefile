# eolab: `make demo` and `make test` work on a fresh machine with Python 3.11, Java and Node.
# Each target creates .venv when it is missing and installs what it needs.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the project needs (installed only when missing; later stages add theirs).
DEBIAN_PACKAGES ?= postgresql chromium redis-server
EXTRAS ?= test

.PHONY: demo test bench lab setup sysdeps lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

# The editable install also builds the labextension (TypeScript in labextension/, ~1 min cold).
LAB_SOURCES := package.json yarn.lock $(shell find labextension style -type f 2>/dev/null)

$(VENV)/.installed-$(EXTRAS): pyproject.toml $(LAB_SOURCES) | $(BIN)/python
	$(BIN)/uv pip install --python $(BIN)/python --quiet -e ".[$(EXTRAS)]"
	rm -f $(VENV)/.installed-*
	touch $@

sysdeps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

setup: sysdeps $(VENV)/.installed-$(EXTRAS)

demo: setup
	$(BIN)/eolab demo

test: setup
	$(BIN)/ruff check eolab tests benchmarks
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/run.py

lab: setup
	$(BIN)/eolab lab --home .eolab-demo

lint: setup
	$(BIN)/ruff check eolab tests benchmarks
	$(BIN)/ruff format --check eolab tests benchmarks

clean:
	rm -rf $(VENV) .eolab-demo .pytest_cache .ruff_cache build dist
