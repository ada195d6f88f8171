"""`debtbot`: the operator's command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import date

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


def _serve(args: argparse.Namespace) -> int:
    """One process of the stack in the foreground, in place of this one (containers, `make cluster`):
    the same command line `debtbot run` gives it, so signals reach it directly."""
    from bot.config import load_settings
    from bot.runner import stack_services

    service = next(s for s in stack_services(load_settings()) if s.name == args.service)
    os.execv(service.command[0], service.command)
    return 1  # not reached


def _cluster(args: argparse.Namespace) -> int:
    from bot.cluster import run_cluster
    from bot.config import load_settings
    from bot.provisioning import ensure_env_file

    ensure_env_file()
    return asyncio.run(run_cluster(load_settings()))


def _loadtest(args: argparse.Namespace) -> int:
    from bot.loadtest.run import main as loadtest_main

    return loadtest_main(args)


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


def _retention(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.retention import apply_retention, as_of_noon_in_oslo, erase_conversation, plan_retention

    settings = load_settings()
    if args.erase_conversation:
        if args.dry_run:
            print("would erase the tracker events and handoff transcripts of that conversation")
            return 0
        deleted = erase_conversation(settings, args.erase_conversation, actor=args.actor)
        print(f"erased {deleted} tracker events and the conversation's handoff transcripts")
        return 0
    now = None
    if args.as_of:
        if not args.dry_run and not settings.demo_mode:
            print(
                "error: --as-of changes data only in demo mode; add --dry-run to see what would change", file=sys.stderr
            )
            return 2
        now = as_of_noon_in_oslo(args.as_of)
    plan = plan_retention(settings, now=now)
    for line in plan.describe():
        print(("would change: " if args.dry_run else "changed: ") + line)
    if not args.dry_run:
        apply_retention(settings, plan, now=now)
    return 0


def _caseworker(args: argparse.Namespace) -> int:
    """`debtbot caseworker add|disable`: accounts for the caseworker console."""
    import getpass

    from bot.case_system.contract.enums import CaseworkerRole
    from bot.case_system.domain import caseworkers
    from bot.case_system.domain.audit import AuditContext
    from bot.case_system.domain.clock import utc_now
    from bot.case_system.store.database import create_engine, session_factory
    from bot.config import load_settings
    from bot.provisioning import prepare_case_system

    settings = load_settings()
    context = AuditContext(actor="debtbot-cli", purpose="caseworker_accounts")
    password = None
    if args.action == "add":
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass(f"Password for {args.username}: ")
            if getpass.getpass("Again: ") != password:
                print("error: the passwords differ", file=sys.stderr)
                return 2

    async def work() -> None:
        await prepare_case_system(settings, with_demo_data=False)  # the schema is current
        engine = create_engine(settings)
        try:
            async with session_factory(engine)() as session:
                if args.action == "add":
                    await caseworkers.add_caseworker(
                        session,
                        username=args.username,
                        name=args.name,
                        display_name=args.display_name,
                        password=password,
                        role=CaseworkerRole(args.role),
                        now=utc_now(),
                        context=context,
                    )
                else:
                    await caseworkers.disable_caseworker(session, args.username, now=utc_now(), context=context)
        finally:
            await engine.dispose()

    try:
        asyncio.run(work())
    except caseworkers.AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"caseworker {args.username} {'added' if args.action == 'add' else 'disabled'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="debtbot", description="Debtor dialogue assistant")
    commands = parser.add_subparsers(dest="command", required=True)

    setup = commands.add_parser("setup", help="create what is missing: .env, database, demo data, model")
    setup.add_argument("--no-train", action="store_true", help="do not train the model")
    setup.set_defaults(handler=_setup)

    commands.add_parser("run", help="set up, then run all three processes until Ctrl-C").set_defaults(handler=_run)
    serve = commands.add_parser("serve", help="run one process alone (containers): dialogue, actions or backoffice")
    serve.add_argument("service", choices=["dialogue", "actions", "backoffice"])
    serve.set_defaults(handler=_serve)
    commands.add_parser(
        "cluster", help="2 dialogue and 2 action servers and a backoffice on PostgreSQL and Redis behind nginx"
    ).set_defaults(handler=_cluster)
    from bot.loadtest import DEFAULT_SECONDS, DEFAULT_USERS

    loadtest = commands.add_parser("loadtest", help="locust through the cluster's nginx, 1 then 2 dialogue replicas")
    loadtest.add_argument("--users", type=int, default=DEFAULT_USERS, help="concurrent conversations")
    loadtest.add_argument("--seconds", type=int, default=DEFAULT_SECONDS, help="length of each run")
    loadtest.add_argument("--replicas", default="1,2", help="dialogue replicas of each run, comma-separated")
    loadtest.set_defaults(handler=_loadtest)
    commands.add_parser("seed", help="load the demo data into an empty case-system database").set_defaults(
        handler=_seed
    )
    commands.add_parser("migrate", help="bring the case-system database schema up to date").set_defaults(
        handler=_migrate
    )

    train = commands.add_parser("train", help="train the model if its inputs changed")
    train.add_argument("--force", action="store_true", help="train even if the model is current")
    train.set_defaults(handler=_train)

    bench = commands.add_parser("bench", help="start the stack and measure latency, throughput and memory")
    bench.add_argument("--conversations", type=int, default=10, help="verified conversations, one after the other")
    bench.add_argument("--turns", type=int, default=4, help="balance questions per conversation")
    bench.add_argument("--concurrency", type=int, default=8)
    bench.add_argument("--output", default="bench-results/latest.json")
    bench.set_defaults(handler=_bench)

    nlu_eval = commands.add_parser(
        "nlu-eval", help="cross-validate the NLU pipeline, test it on the held-out and messy files"
    )
    nlu_eval.add_argument("--folds", type=int, default=5)
    nlu_eval.add_argument(
        "--skip-cv", action="store_true", help="only the trained model on the held-out and messy files (seconds)"
    )
    nlu_eval.set_defaults(handler=_nlu_eval)
    retention = commands.add_parser("retention", help="anonymise or delete data whose retention period is over")
    retention.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    retention.add_argument(
        "--erase-conversation", metavar="CONVERSATION_ID", help="erase one conversation (a caseworker's decision)"
    )
    retention.add_argument("--actor", default="caseworker", help="who decided the erasure, for the audit trail")
    retention.add_argument(
        "--as-of",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="run as on that day (to show what happens when; changes data only with DEMO_MODE=true)",
    )
    retention.set_defaults(handler=_retention)

    caseworker = commands.add_parser("caseworker", help="caseworker accounts for the console at /console")
    actions = caseworker.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add an account (the password is asked for, or read from stdin)")
    add.add_argument("username", help="lower-case letters, digits, . _ -")
    add.add_argument("--name", required=True, help="the caseworker's full name")
    add.add_argument("--display-name", help="the name debtors see (default: the first name)")
    add.add_argument("--role", choices=["caseworker", "supervisor"], default="caseworker")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    disable = actions.add_parser("disable", help="disable an account: no login, no integration acting for it")
    disable.add_argument("username")
    caseworker.set_defaults(handler=_caseworker)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Files made by any command (databases, logs, .env) are the operator's alone.
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
