# The two commands of the README:  make refresh  (main job on the embedded default)  and  make test.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: setup refresh test dev clean

setup: $(STAMP)

# Exact versions from constraints.txt (names and versions only), then the dbt manifest dagster-dbt needs at import.
$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: Python 3.11 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m orchestration.dbt --prepare
	touch $(STAMP)

refresh: $(STAMP)
	$(BIN)/phm refresh

test: $(STAMP)
	$(BIN)/pytest -q --durations=15

dev: $(STAMP)
	$(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs warehouse landing .pytest_cache
