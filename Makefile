# kms: `make run` serves the site and runs its scheduled jobs, `make demo` serves a throwaway demo site, `make test` runs ruff, then the whole suite.
# Each creates .venv on first use. HOST and PORT choose where run and demo listen (default 127.0.0.1:5000).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Separate stamps: `make run` installs only what running needs; a later `make test` adds the test extras.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed
# The demo's own instance folder (database, index, key), so it never touches instance/.
DEMO_INSTANCE := instance-demo
DEMO_ENV := env -u KMS_DATABASE_URL KMS_ENV=development KMS_INSTANCE_PATH=$(DEMO_INSTANCE)

.PHONY: run demo test browser haproxy clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "kms needs Python 3.11 or newer; run make PYTHON=python3.12 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The s3 and redis extras: what several servers need (docs/deploy.md); small next to the rest.
# kms's own modules are compiled to bytecode once here: an editable install leaves that to each start, and where
# PYTHONDONTWRITEBYTECODE is set every start (each command, each server worker) compiles them again (~0.25 s).
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[s3,redis]"
	$(BIN)/python -m compileall -q kms
	touch $(RUN_STAMP)

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m compileall -q kms
	touch $(TEST_STAMP)

# The site and `kms worker` (scheduled jobs: reminders, e-mail, purges) together; Ctrl+C stops both.
run: $(RUN_STAMP)
	$(BIN)/kms serve --host $${HOST:-127.0.0.1} --port $${PORT:-5000} --with-worker

# Starts from an empty demo instance every time: the demo team, its data and their logins, then serves it.
demo: $(RUN_STAMP)
	rm -rf $(DEMO_INSTANCE)
	$(DEMO_ENV) $(BIN)/kms demo
	$(DEMO_ENV) $(BIN)/kms serve --host $${HOST:-127.0.0.1} --port $${PORT:-5000}

# Debian's chromium + chromium-driver drive the browser journeys; installed when missing and allowed.
browser:
	@bash scripts/install-browser.sh

# Debian's haproxy balances the servers of the cluster test (tests/cluster); installed when missing and allowed.
haproxy:
	@bash scripts/install-haproxy.sh

# The test-only OpenID provider of tests/sso (node's oidc-provider, pinned in tests/oidc/package-lock.json).
# Without npm the SSO tests skip, saying why; with CI=true they fail instead.
OIDC_STAMP := tests/oidc/node_modules/.installed
$(OIDC_STAMP): tests/oidc/package.json tests/oidc/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/oidc --no-audit --no-fund && touch $@; \
	else echo "npm not found: tests/sso will be skipped (CI=true fails them)"; fi

test: $(TEST_STAMP) browser haproxy $(OIDC_STAMP)
	$(BIN)/ruff check kms tests benchmarks
	$(BIN)/ruff format --check kms tests benchmarks
	status=0; \
	$(BIN)/python -m pytest -n $${KMS_TEST_WORKERS:-2} --dist loadfile -m "not alone" --durations=20 || status=1; \
	$(BIN)/python -m pytest -m alone --durations=10 || status=1; \
	exit $$status

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts $(DEMO_INSTANCE) tests/oidc/node_modules
