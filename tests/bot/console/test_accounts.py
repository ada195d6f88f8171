"""Caseworker accounts from the command line and from setup (issue 18): `debtbot caseworker add`
and `disable`, argon2 hashes, the demo accounts whose passwords setup writes into `.env`, and
where `make run` says to log in."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import cli
from bot.case_system.domain.caseworkers import password_matches
from bot.case_system.store.database import upgrade_database
from bot.config import load_settings
from bot.provisioning import DEMO_PASSWORDS, GENERATED_SECRETS, ensure_env_file, prepare_case_system
from bot.runner import describe


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'case.db'}"
    upgrade_database(url)
    monkeypatch.setenv("DATABASE_URL", url)
    umask = os.umask(0o022)  # the command sets its own (077); the test process keeps its own
    os.umask(umask)
    yield url
    os.umask(umask)


def accounts(url: str) -> list[tuple]:
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            query = "SELECT username, name, role, active, password_hash FROM caseworkers ORDER BY id"
            return [tuple(row) for row in connection.execute(sa.text(query))]
    finally:
        engine.dispose()


def test_add_reads_the_password_from_stdin_and_keeps_only_an_argon2_hash(database, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("et-godt-passord-42\n"))
    assert (
        cli.main(["caseworker", "add", "anne", "--name", "Anne Berg", "--role", "supervisor", "--password-stdin"]) == 0
    )
    assert "caseworker anne added" in capsys.readouterr().out
    ((username, name, role, active, password_hash),) = accounts(database)
    assert (username, name, role, bool(active)) == ("anne", "Anne Berg", "supervisor", True)
    assert password_hash.startswith("$argon2id$") and "et-godt-passord-42" not in password_hash
    assert password_matches(password_hash, "et-godt-passord-42") and not password_matches(password_hash, "feil")


def test_add_asks_twice_without_stdin_and_refuses_a_mismatch(database, monkeypatch, capsys):
    answers = iter(["et-godt-passord-42", "et-annet-passord-1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert cli.main(["caseworker", "add", "anne", "--name", "Anne Berg"]) == 2
    assert accounts(database) == []


def test_add_refuses_a_short_password_and_a_taken_name(database, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("kort\n"))
    assert cli.main(["caseworker", "add", "anne", "--name", "Anne", "--password-stdin"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("et-godt-passord-42\n"))
    assert cli.main(["caseworker", "add", "anne", "--name", "Anne", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("et-godt-passord-42\n"))
    assert cli.main(["caseworker", "add", "anne", "--name", "Anne", "--password-stdin"]) == 1
    assert "taken" in capsys.readouterr().err


def test_disable_keeps_the_account_but_switches_it_off(database, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("et-godt-passord-42\n"))
    cli.main(["caseworker", "add", "anne", "--name", "Anne", "--password-stdin"])
    assert cli.main(["caseworker", "disable", "anne"]) == 0
    assert [bool(row[3]) for row in accounts(database)] == [False]
    assert cli.main(["caseworker", "disable", "nobody"]) == 1


def test_setup_generates_the_session_secret_and_in_demo_mode_the_demo_passwords(tmp_path, monkeypatch):
    for name in (*GENERATED_SECRETS, *DEMO_PASSWORDS):
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / ".env"
    assert "CONSOLE_SESSION_SECRET" in ensure_env_file(env_file)
    assert ensure_env_file(env_file, names=DEMO_PASSWORDS) == list(DEMO_PASSWORDS)
    assert ensure_env_file(env_file, names=DEMO_PASSWORDS) == []  # kept, not regenerated
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"


def test_demo_mode_makes_a_demo_caseworker_and_a_supervisor_who_can_log_in(tmp_path):
    url = f"sqlite:///{tmp_path / 'case.db'}"
    env = {
        "DATABASE_URL": url,
        "DEMO_MODE": "true",
        "CASEWORKER_DEMO_PASSWORD": "demo-passord-123",
        "SUPERVISOR_DEMO_PASSWORD": "leder-passord-123",
    }
    settings = load_settings(env=env, env_file=Path("/nonexistent/.env"))
    asyncio.run(prepare_case_system(settings))
    rows = {row[0]: row for row in accounts(url)}
    assert rows["demo"][2] == "caseworker" and password_matches(rows["demo"][4], "demo-passord-123")
    assert rows["supervisor"][2] == "supervisor" and password_matches(rows["supervisor"][4], "leder-passord-123")
    # A regenerated .env still logs in: the password is set again.
    settings = load_settings(
        env={**env, "CASEWORKER_DEMO_PASSWORD": "nytt-passord-456"}, env_file=Path("/nonexistent/.env")
    )
    asyncio.run(prepare_case_system(settings))
    assert password_matches({row[0]: row for row in accounts(url)}["demo"][4], "nytt-passord-456")


def test_run_says_where_to_log_in_and_where_the_demo_passwords_are(tmp_path):
    text = describe(load_settings(env={"DEMO_MODE": "true"}, env_file=tmp_path / "none"))
    assert "http://127.0.0.1:8080/console" in text
    assert "CASEWORKER_DEMO_PASSWORD" in text and "SUPERVISOR_DEMO_PASSWORD" in text and ".env" in text
    production = describe(load_settings(env={"DEMO_MODE": "false"}, env_file=tmp_path / "none"))
    assert "debtbot caseworker add" in production and "DEMO_PASSWORD" not in production
