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

.PHONY: setup refresh test dev clean

setup: $(STAMP) $(CHROMIUM)

# Exact versions from constraints.txt (names and versions only), then the dbt manifest dagster-dbt needs at import.
$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: Python 3.11 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m orchestration.dbt --prepare
	touch $(STAMP)

# Idempotent: only when chromium is missing; the package lists are refreshed only if the first try fails.
$(CHROMIUM):
	@if command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser test"; \
		$(SUDO) apt-get install -y -qq chromium >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }; \
	else \
		echo "apt-get not found: install chromium at $(CHROMIUM) yourself, or the browser test fails"; \
	fi

refresh: $(STAMP)
	$(BIN)/phm refresh

test: $(STAMP) $(CHROMIUM)
	$(BIN)/pytest -q --durations=15

dev: $(STAMP)
	$(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs warehouse landing .pytest_cache
