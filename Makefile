PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean fuzz

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) on PATH (or run make PY=python3)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

# (straight from the bare venv: one editable build, not a second one on top of `.installed`'s)
$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/python examples/demo.py

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -n auto --dist worksteal
	$(BIN)/ruff check s2s transforms tests examples benchmarks

fuzz: $(VENV)/.installed-dev
	S2S_FUZZ=long $(BIN)/python -m pytest -q -s tests/test_fuzz.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check s2s transforms tests examples benchmarks

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/complexity.py
	$(BIN)/python benchmarks/checkpoint_bench.py
	$(BIN)/python benchmarks/compiled_bench.py
	$(BIN)/python benchmarks/ordinary.py
	$(BIN)/python benchmarks/ordinary_more.py
	$(BIN)/python benchmarks/ordinary_wild.py
	$(BIN)/python benchmarks/ordinary_loops.py
	$(BIN)/python benchmarks/ordinary_kinds.py
	$(BIN)/python benchmarks/ordinary_review.py
	$(BIN)/python benchmarks/ordinary_losses.py
	$(BIN)/python benchmarks/ordinary_models.py
	$(BIN)/python benchmarks/ordinary_fits.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
