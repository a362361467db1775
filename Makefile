# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := $(VENV)/.installed-demo
TEST   := $(VENV)/.installed-test
TORCH  := torch==2.13.0
# Two processes, one per core; a test file stays in one (its module fixtures, servers and Redis queue with it).
PYTEST_ARGS ?= -n 2 --dist loadfile
DEMO_ARGS ?=

.PHONY: install demo test serve bench model clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# What the demo runs: the core (web desk, CLI, sklearn model) and the research page. No torch, no PostgreSQL driver.
# uv installs the same packages several times faster than pip (the demo's time is mostly the install); where uv
# cannot be had (an offline machine with local wheels only), pip does it.
$(DEMO): pyproject.toml | $(BIN)/python
	( $(BIN)/pip install -q uv && $(BIN)/uv pip install -q --python $(BIN)/python -e '.[research]' ) \
		|| $(BIN)/pip install -q -e '.[research]'
	touch $@

# Everything the tests exercise ([dev] pulls research, detoxify, postgres and convokit). torch first, from the
# CPU wheel index: PyPI's Linux torch pulls the CUDA stack. Where that index is unreachable (an offline machine
# with local wheels), the same pinned release from the configured indexes.
$(TEST): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --timeout 15 --retries 1 $(TORCH) --index-url https://download.pytorch.org/whl/cpu \
		|| $(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(DEMO)

demo: $(DEMO)
	$(BIN)/moderation demo $(DEMO_ARGS)

serve: $(DEMO)
	$(BIN)/moderation serve

test: $(TEST)
	$(BIN)/moderation rules test rules/
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(TEST)
	$(BIN)/python -m bench.run

# The shipped model, from the permissively licensed corpora in ../shared/data (see bench/corpora.py TRAIN).
model: $(TEST)
	$(BIN)/python -m bench.shipped_model $(if $(DATA),--data $(DATA))

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
