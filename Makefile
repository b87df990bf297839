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

test: lint
	$(BIN)/pytest -n 2

check: $(STAMP)
	$(BIN)/tuike check

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
