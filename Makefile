# Feedback Ops — the two commands: `make demo` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
ROOT := $(abspath .)
LOCAL := $(ROOT)/.local

export AIRFLOW_HOME := $(LOCAL)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(ROOT)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(ROOT)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__PARALLELISM := 4
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG := 2
export AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK := False
export AIRFLOW__API__PORT := 8080
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE := $(LOCAL)/airflow/simple_auth_manager_passwords.json
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := False
export PYTHONPATH := $(ROOT)/plugins
# airflow standalone starts its components as `airflow ...` subprocesses: the venv must come first on PATH.
export PATH := $(ROOT)/$(VENV)/bin:$(PATH)

DEMO_DATE ?= 2026-11-22T00:00:00+00:00

.PHONY: demo test install browser java airflow-init up lint format dbt-docs clean lock

## demo: set everything up and run the whole pipeline through Airflow on the sample data
demo: install airflow-init
	@echo "Running the feedback_pipeline DAG with Airflow (full log: .local/demo_airflow.log)"
	@set -o pipefail; $(BIN)/airflow dags test feedback_pipeline $(DEMO_DATE) 2>&1 \
		| tee $(LOCAL)/demo_airflow.log \
		| grep --line-buffered -oE '\[DAG TEST\] (starting|end task) task_id=[a-z_]+|new_state=(failed|up_for_retry)' \
		| sed -u -E 's/\[DAG TEST\] starting task_id=/  started  /; s/\[DAG TEST\] end task task_id=/  finished /' \
		|| { grep -B2 -A30 "Task failed with exception" $(LOCAL)/demo_airflow.log | tail -n 60; \
		     echo "demo failed: see the error above; full log in .local/demo_airflow.log"; exit 1; }
	@cat $(LOCAL)/run_summary.txt

## test: set everything up and run the test suite (unit, dbt, GX, DAG integrity, end to end)
test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest; status=$$?; \
		if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

install: $(VENV)/.installed browser java

# Debian's headless Chromium renders the insights report in its test; installed when missing (as root with
# apt-get, as on CI), a no-op when present.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's chromium (headless browser for the insights-report test)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "chromium is missing: install it (Debian: sudo apt-get install -y chromium) or the report test fails"; \
		fi; \
	}

# Debian's headless Java 17 runs the local Spark session of the dbt Spark SQL test (tests/test_dbt_spark.py);
# installed when missing (as root with apt-get, as on CI), a no-op when `java` is present.
java:
	@command -v java >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's openjdk-17-jre-headless (Java for the dbt-on-Spark test)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
		else \
			echo "java is missing: install it (Debian: sudo apt-get install -y openjdk-17-jre-headless) or the Spark test fails"; \
		fi; \
	}

$(VENV)/.installed: requirements.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

airflow-init: install
	@mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(LOCAL)/airflow_db_migrate.log 2>&1 || { tail -n 40 $(LOCAL)/airflow_db_migrate.log; exit 1; }
	$(BIN)/airflow pools set warehouse 1 "DuckDB allows one writer: warehouse-writing tasks run one at a time" > /dev/null

## up: the Airflow UI with the project's DAGs (airflow standalone), on http://localhost:8080
up: airflow-init
	@echo "Airflow UI: http://localhost:8080  — user 'admin', password printed below and kept in"
	@echo "$(AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE)"
	$(BIN)/airflow standalone

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check plugins dags tests bench tools
	$(BIN)/mypy
	@# sqlfluff with the dbt templater (dbt/.sqlfluff) compiles the project against a throwaway DuckDB file
	mkdir -p $(LOCAL)/sqlfluff
	cd dbt && FEEDBACK_OPS_WAREHOUSE=$(LOCAL)/sqlfluff/warehouse.duckdb FEEDBACK_OPS_DBT_TARGET=local \
		$(ROOT)/$(BIN)/sqlfluff lint .

format: install
	$(BIN)/ruff format plugins dags tests bench tools
	$(BIN)/ruff check --fix .

## dbt-docs: serve the dbt documentation built by the demo
dbt-docs: install
	cd dbt && FEEDBACK_OPS_WAREHOUSE=$(LOCAL)/warehouse.duckdb ../$(BIN)/dbt docs serve --profiles-dir . --target-path $(LOCAL)/dbt/target --port 8081

## lock: re-resolve requirements.in into the pinned requirements.txt
lock:
	rm -rf /tmp/feedback-ops-lock && $(PYTHON) -m venv /tmp/feedback-ops-lock
	/tmp/feedback-ops-lock/bin/pip install --quiet -r requirements.in
	/tmp/feedback-ops-lock/bin/pip freeze | grep -v '^-e' > requirements.txt

clean:
	rm -rf $(LOCAL) dbt/target dbt/logs
