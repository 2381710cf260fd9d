# The README's commands. Each sets up what it needs on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test bench soak venv venv-test chromium pdf-libs lint css audit oidc-provider html-validate lighthouse

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed (python3.11 on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# One virtualenv, two stamps, each reinstalled only when its requirements file
# changes: `make run` installs what running needs (requirements.txt); the test,
# lint, audit, bench and soak targets add the test packages (requirements-test.txt:
# pytest, Playwright, aiosmtpd, ruff, pip-audit and the rest).
$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed-run
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed-run
venv-test: $(VENV)/.installed-test

# Debian's Chromium drives the browser tests (Playwright's own download does not work here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# WeasyPrint (the agency's PDF copy, subject access exports) needs Pango, HarfBuzz and a font from Debian.
PDF_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-liberation fonts-dejavu-core
pdf-libs:
	@dpkg-query -W -f='$${Status}\n' $(PDF_DEBS) 2>/dev/null | grep -c "ok installed" | grep -qx "$(words $(PDF_DEBS))" || { \
	  echo "Installing Debian's packages for WeasyPrint: $(PDF_DEBS)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(PDF_DEBS) >/dev/null; }

# The real OpenID provider (oidc-provider, pinned in tests/oidc/package.json)
# that the single sign-on tests start on 127.0.0.1.
oidc-provider: tests/oidc/node_modules/.package-lock.json
tests/oidc/node_modules/.package-lock.json: tests/oidc/package.json tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# html-validate (pinned in tests/htmlvalidate/package.json), which the test
# run holds every page's HTML to (tests/web/test_html_valid.py).
html-validate: tests/htmlvalidate/node_modules/.package-lock.json
tests/htmlvalidate/node_modules/.package-lock.json: tests/htmlvalidate/package.json tests/htmlvalidate/package-lock.json
	cd tests/htmlvalidate && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# make run PORT=8080 HOST=0.0.0.0: served there, and seed-demo and every email link to it.
HOST ?= 127.0.0.1
PORT ?= 5000
SERVE := FLASK_RUN_HOST=$(HOST) FLASK_RUN_PORT=$(PORT)

run: venv pdf-libs
	$(SERVE) $(FLASK) init-db
	$(SERVE) $(FLASK) seed-demo
	$(SERVE) SCHEDULER_ENABLED=true $(FLASK) run --no-reload

# Two processes (pytest-xdist), one a core: the run takes about half as long on
# this 2-core machine; then the query-plan test in a fresh process of its own.
# One area alone, in seconds: `.venv/bin/python -m pytest tests/records -m "not browser and not postgres"`
# (the areas are the folders of tests/: records, breaches, agencies, family, notices, people,
# oversight, governance, web, jobs, browser).
test: venv-test chromium pdf-libs audit oidc-provider html-validate
	$(BIN)/python -m pytest -n 2 -m "not planner"
	$(BIN)/python -m pytest -m planner

# Known vulnerabilities in the pinned requirements. Where the advisory service
# cannot be reached (as in this workplace) pip-audit skips the packages and
# says so; a vulnerability it does find fails the run.
audit: venv-test
	$(BIN)/pip-audit -r requirements.txt --progress-spinner off || { echo "pip-audit found a problem"; exit 1; }

bench: venv-test
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.imports
	$(BIN)/python -m bench.delivery

soak: venv-test chromium
	SOAK=full $(BIN)/python -m pytest -m soak

lint: venv-test
	$(BIN)/ruff check tracker jobs tests

# Rebuild static/css/app.css and the vendored scripts from the pinned npm packages.
css:
	cd frontend && ./build.sh

# Lighthouse 12 (pinned in tests/lighthouse/) at phone size on the staff pages:
# accessibility 100, best practices 100, layout shift at most 0.05. About half
# a minute a page, so not part of `make test`.
lighthouse: venv chromium
	cd tests/lighthouse && npm ci --no-audit --no-fund
	$(BIN)/python tests/lighthouse/check.py
