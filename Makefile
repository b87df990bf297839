# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv on first use and reinstall only when pyproject.toml changes.
SHELL  := /bin/bash
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint check clean bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	@echo "==> 第一次运行：正在安装依赖到 .venv/（约一两分钟，之后直接启动） / installing into .venv/ (first run only)"
	@set -o pipefail; $(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e '.[dev]' \
		| { grep --line-buffered -E '^(Collecting|Successfully installed|ERROR)' || true; } | sed -u 's/^/    /'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/tuike run

lint: $(STAMP)
	$(BIN)/ruff check bot tuike_sandbox tests bench
	$(BIN)/ruff format --check bot tuike_sandbox tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# Four workers on two cores: a test often waits (on a `tuike` process, a socket, a browser, a timer),
# and with two workers the cores sat idle for about half of the run. TEST_WORKERS=2 make test for two.
# Bytecode is written even where PYTHONDONTWRITEBYTECODE is set: every `tuike` process a test starts
# would otherwise compile the bot again.
TEST_WORKERS ?= 4

test: lint
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(TEST_WORKERS)

check: $(STAMP)
	$(BIN)/tuike check

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
