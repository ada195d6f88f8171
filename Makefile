# Two commands: `make run` and `make test`. Both set up whatever is missing first.
.PHONY: run test test-fast lint setup bench nlu-eval clean

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

setup:
	@bash scripts/setup.sh

run: setup
	@.venv/bin/debtbot run

# Two workers: every full-stack test on one (tests/e2e/conftest.py), everything else on the other.
test: setup lint
	@.venv/bin/python -m pytest -n 2 --dist loadgroup --durations=15

# The inner loop: everything but the tests that start the full three-process stack.
test-fast: setup
	@.venv/bin/python -m pytest -m "not stack" -n 2 --durations=10

# ruff: lint rules and formatting (pyproject.toml), over the whole tree.
lint: setup
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench: setup
	@.venv/bin/debtbot bench

nlu-eval: setup
	@.venv/bin/debtbot nlu-eval

clean:
	rm -rf models .rasa var/log
