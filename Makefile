# Two commands: `make run` and `make test`. Both set up whatever is missing first.
.PHONY: run test setup bench nlu-eval clean

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

setup:
	@bash scripts/setup.sh

run: setup
	@.venv/bin/debtbot run

test: setup
	@.venv/bin/python -m pytest

bench: setup
	@.venv/bin/debtbot bench

nlu-eval: setup
	@.venv/bin/debtbot nlu-eval

clean:
	rm -rf models .rasa var/log
