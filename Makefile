# newswatch — every command a developer or CI needs. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
AIRFLOW_STAMP := $(VENV)/.installed-airflow

.DEFAULT_GOAL := help
.PHONY: help venv demo test test-web check bench lint types services clean eval-extract eval-feeds eval-enrich eval-topics eval-dedup eval-stories train-stories bench-stories bench-alerts bench-api test-airflow test-faults test-long stack stack-down

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# Airflow 3 (the `airflow` extra) only for the tests and the DAGs: `make demo` does not need it
$(AIRFLOW_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,airflow]'
	@touch $@

venv: $(STAMP)  ## create .venv and install newswatch with its dev tools

demo: $(STAMP)  ## run the main job on the embedded default against the bundled demo site
	$(BIN)/newswatch demo

services:  ## install the real servers and the browser the tests use (PostgreSQL, Java+Maven for Elasticsearch, Chromium) when missing
	@bash scripts/install-services.sh

test: $(AIRFLOW_STAMP) services  ## run the whole test suite against real services (Airflow included)
	$(BIN)/python -m pytest

eval-extract: $(STAMP)  ## extraction P/R/F1 on ../shared/data/extraction-dev (newswatch vs plain trafilatura)
	$(BIN)/python eval/extraction.py

eval-feeds: $(STAMP)  ## feed-corpus robustness: parse + store every file of ../shared/data/feed-corpus
	$(BIN)/python eval/feed_corpus.py

eval-enrich: $(STAMP)  ## NER P/R/F1 (CoNLL dev), main-entity recall, topic P/R, enrich speed; per language on the multilingual set
	$(BIN)/python eval/entities.py
	$(BIN)/python eval/multilingual.py --part enrich
	$(BIN)/python eval/topics.py

eval-topics: $(STAMP)  ## topic precision/recall on our labelled set (tests/fixtures/topics)
	$(BIN)/python eval/topics.py

eval-dedup: $(STAMP)  ## near-duplicate P/R on pairs we build (copies, rewrites, spun copies)
	$(BIN)/python eval/dedup.py

eval-stories: $(STAMP)  ## story clustering pairwise/BCubed P/R/F1 on clustering-hard-dev, clustering-dev (+ same-week), the demo and the multilingual set
	$(BIN)/python eval/stories.py
	$(BIN)/python eval/multilingual.py --part stories

train-stories: $(STAMP)  ## retrain the story decision (stories/model.json) with cross-validated figures; needs .[train]
	$(BIN)/pip install -q -e '.[train]'
	$(BIN)/python eval/train_story_model.py --write

bench: $(STAMP) services  ## the whole pipeline over a loopback news site, per stage, against the floor (both backends)
	$(BIN)/python bench/pipeline.py

bench-stories: $(STAMP)  ## time to assign one article to a story with 1k / 10k / 100k stored articles
	$(BIN)/python bench/stories.py

bench-alerts: $(STAMP) services  ## evaluate 10,000 watches against 200 new articles on both backends
	$(BIN)/python bench/alerts.py

bench-api: $(STAMP) services  ## API p50/p95/p99 at a fixed request rate on 50k articles, embedded and Elasticsearch
	$(BIN)/python bench/api_load.py --json build/bench/api-load.json

test-long: $(AIRFLOW_STAMP) services  ## the suite plus the long variants (hostile 2nd pass, PostgreSQL, feed corpus, more kills)
	NEWSWATCH_LONG_TESTS=1 $(BIN)/python -m pytest

test-faults: $(AIRFLOW_STAMP) services  ## the fault-injection suite (NEWSWATCH_LONG_TESTS=1: 60 kills per store)
	$(BIN)/python -m pytest tests/faults -s

test-web: $(STAMP) services  ## only the web app's tests (pages over HTTP, then Chromium via Selenium; screenshots in build/screenshots/)
	$(BIN)/python -m pytest tests/web tests/hostile/test_web_pages.py

test-airflow: $(AIRFLOW_STAMP)  ## only the Airflow DAG tests (real `airflow dags test`)
	$(BIN)/python -m pytest tests/airflow

stack:  ## build and start the full stack in Docker (docker-compose.yml, docs/operations.md)
	docker compose up -d --build

stack-down:  ## stop the full stack; its data stays in the Docker volumes
	docker compose down

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check .

types: $(AIRFLOW_STAMP)  ## mypy on the packages and the DAGs (against the installed Airflow)
	$(BIN)/mypy

check: lint types test  ## exactly what CI runs

clean:  ## remove the environment, caches and the demo data
	rm -rf $(VENV) .newswatch build .pytest_cache .mypy_cache .ruff_cache
