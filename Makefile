# The two commands of the README:  make refresh  (main job on the embedded default)  and  make test.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The browser test drives Debian's chromium through Playwright (no browser download: stack.md trap 12).
CHROMIUM := /usr/bin/chromium
SUDO   := $(shell [ "$$(id -u)" != 0 ] && command -v sudo)

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: setup java refresh test lint dq-report dev clean

setup: $(STAMP) $(MANIFEST) $(CHROMIUM) java

# Exact versions from constraints.txt (names and versions only).
$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: Python 3.11 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The dbt manifest dagster-dbt loads, prepared by dagster-dbt itself; again whenever a dbt file changes.
DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros seeds -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \)) $(wildcard dbt_project/*.yml)
MANIFEST := dbt_project/target/manifest.json
$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dagster-dbt project prepare-and-package --file orchestration/dbt_project.py
	touch $(MANIFEST)

# Idempotent: only when chromium is missing; the package lists are refreshed only if the first try fails.
$(CHROMIUM):
	@if command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser test"; \
		$(SUDO) apt-get install -y -qq chromium >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }; \
	else \
		echo "apt-get not found: install chromium at $(CHROMIUM) yourself, or the browser test fails"; \
	fi

# PySpark (dbt's spark target, issue 19) needs Java 17+: Debian's headless JRE, installed only when java is missing.
java:
	@command -v java >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian's openjdk-17-jre-headless for PySpark"; \
			$(SUDO) apt-get install -y -qq openjdk-17-jre-headless >/dev/null 2>&1 || \
			{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq openjdk-17-jre-headless; }; \
		else \
			echo "java not found and no apt-get: install Java 17 yourself, or the spark target cannot start"; \
		fi; }

refresh: $(STAMP) $(MANIFEST)
	$(BIN)/phm refresh

test: $(STAMP) $(MANIFEST) $(CHROMIUM)
	$(BIN)/pytest -q --durations=15 -n auto --dist loadgroup --no-loadscope-reorder

# ruff (lint, format), mypy (types), import-linter (one-way package layers), sqlfluff on the dbt SQL (dbt templater,
# DuckDB dialect, dbt_project/.sqlfluff; the indicator macros read one seed, loaded into a scratch file first):
# CI fails on any of them.
SQLFLUFF_DB := $(abspath .cache/sqlfluff.duckdb)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	mkdir -p .cache && rm -f $(SQLFLUFF_DB)
	PHM_BUILD_DB=$(SQLFLUFF_DB) $(BIN)/dbt seed --quiet --project-dir dbt_project --profiles-dir dbt_project --target-path $(abspath .cache/sqlfluff-target) --select indicator_definitions codelist_concepts
	cd dbt_project && PHM_BUILD_DB=$(SQLFLUFF_DB) ../$(BIN)/sqlfluff lint models

# CI's data-quality report: a small synthetic refresh reported into artifacts/dq-report (CI keeps the folder).
# Fails when the refresh is blocked (the report then shows the blocked build) or a blocking check failed.
CI_REFRESH := artifacts/ci-refresh
dq-report: $(STAMP) $(MANIFEST)
	rm -rf $(CI_REFRESH) artifacts/dq-report
	$(BIN)/phm generate --patients 2000 --extract-date 2026-10-31 --out $(CI_REFRESH)/landing
	$(BIN)/phm refresh --landing $(CI_REFRESH)/landing --warehouse $(CI_REFRESH)/warehouse/phm.duckdb || { \
		$(BIN)/phm dq-report --out artifacts/dq-report \
			--warehouse "$$(ls -t $(CI_REFRESH)/warehouse/.build/*/build.duckdb | head -1)"; exit 1; }
	$(BIN)/phm dq-report --warehouse $(CI_REFRESH)/warehouse/phm.duckdb --out artifacts/dq-report --fail-on-blocking

dev: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs warehouse landing .pytest_cache
