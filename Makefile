# `make demo` and `make test` set everything up on a fresh clone (see scripts/setup.sh).
VENV := .venv/bin
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast lint format bench

setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/bayes-scaling demo --force

test: setup
	@$(VENV)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; fi; exit $$rc

test-fast: setup
	$(VENV)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: setup
	$(VENV)/ruff check bayes_scaling tests benchmarks notebooks scripts
	$(VENV)/ruff format --check bayes_scaling tests benchmarks notebooks scripts

format: setup
	$(VENV)/ruff format bayes_scaling tests benchmarks notebooks
	$(VENV)/ruff check --fix bayes_scaling tests benchmarks notebooks

bench: setup
	$(VENV)/python benchmarks/bench_fit.py
