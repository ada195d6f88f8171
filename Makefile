# Two commands: `make run` and `make test`. Both set up whatever is missing first.
.PHONY: run test test-fast lint setup bench nlu-eval fuzz clean cluster loadtest

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

# Longer fuzzing than `make test` does: schemathesis over the case API (every phase), hypothesis
# over the normalisers, the redactor, the Socket.IO channel and the Twilio webhooks.
fuzz: setup
	@FUZZ=long .venv/bin/python -m pytest tests/fuzz tests/e2e/test_sms.py -k "fuzz or generated or schemathesis or properties or payload" -s --hypothesis-show-statistics

bench: setup
	@.venv/bin/debtbot bench

# Production's shape on this machine: 2 dialogue and 2 action servers and a backoffice on PostgreSQL
# and Redis behind nginx on CLUSTER_PORT (default 8000), until Ctrl-C (bot/cluster.py).
cluster: setup
	@.venv/bin/debtbot cluster

# locust through the cluster's nginx with 1, then 2 dialogue replicas; then every acknowledged
# message is checked in the trackers (bot/loadtest/).
loadtest: setup
	@.venv/bin/debtbot loadtest

nlu-eval: setup
	@.venv/bin/debtbot nlu-eval

clean:
	rm -rf models .rasa var/log
