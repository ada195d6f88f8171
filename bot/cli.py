"""`debtbot`: the operator's command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


def _setup(args: argparse.Namespace) -> int:
    from bot.provisioning import setup

    setup(train=not args.no_train)
    return 0


def _run(args: argparse.Namespace) -> int:
    from bot.provisioning import setup
    from bot.runner import run_stack

    settings = setup()
    return asyncio.run(run_stack(settings))


def _seed(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.provisioning import prepare_case_system

    loaded = asyncio.run(prepare_case_system(load_settings()))
    print("demo data loaded" if loaded else "the database is not empty: demo data not loaded")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.provisioning import prepare_case_system

    asyncio.run(prepare_case_system(load_settings(), with_demo_data=False))
    print("database schema is up to date")
    return 0


def _train(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.provisioning import train_model

    trained = train_model(load_settings(), force=args.force)
    print("model trained" if trained else "model is up to date (use --force to retrain)")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from bot.bench import main as bench_main

    return bench_main(args)


def _nlu_eval(args: argparse.Namespace) -> int:
    from bot.nlu_eval import main as nlu_eval_main

    return nlu_eval_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="debtbot", description="Debtor dialogue assistant")
    commands = parser.add_subparsers(dest="command", required=True)

    setup = commands.add_parser("setup", help="create what is missing: .env, database, demo data, model")
    setup.add_argument("--no-train", action="store_true", help="do not train the model")
    setup.set_defaults(handler=_setup)

    commands.add_parser("run", help="set up, then run all three processes until Ctrl-C").set_defaults(handler=_run)
    commands.add_parser("seed", help="load the demo data into an empty case-system database").set_defaults(handler=_seed)
    commands.add_parser("migrate", help="bring the case-system database schema up to date").set_defaults(handler=_migrate)

    train = commands.add_parser("train", help="train the model if its inputs changed")
    train.add_argument("--force", action="store_true", help="train even if the model is current")
    train.set_defaults(handler=_train)

    bench = commands.add_parser("bench", help="start the stack and measure latency, throughput and memory")
    bench.add_argument("--turns", type=int, default=40, help="verified balance turns per conversation")
    bench.add_argument("--concurrency", type=int, default=8)
    bench.add_argument("--output", default="bench-results/latest.json")
    bench.set_defaults(handler=_bench)

    nlu_eval = commands.add_parser("nlu-eval", help="cross-validate the NLU pipeline and test it on the held-out file")
    nlu_eval.add_argument("--folds", type=int, default=5)
    nlu_eval.set_defaults(handler=_nlu_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
