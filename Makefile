# kms: `make run` serves the site, `make test` runs the whole suite. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test browser clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "kms needs Python 3.11 or newer; run make PYTHON=python3.12 ...")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kms serve --host $${HOST:-127.0.0.1} --port $${PORT:-5000}

# Debian's chromium + chromium-driver drive the browser journeys; installed when missing and allowed.
browser:
	@bash scripts/install-browser.sh

test: $(STAMP) browser
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
