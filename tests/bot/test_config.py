from pathlib import Path

from bot.config import load_settings, to_async_url, to_sync_url


def test_environment_overrides_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CASE_API_KEY=from-file\nRASA_PORT=6000\n")
    settings = load_settings(env={"CASE_API_KEY": "from-env"}, env_file=env_file)
    assert settings.case_api_key == "from-env"
    assert settings.rasa_port == 6000


def test_derived_urls_follow_host_and_ports(tmp_path: Path) -> None:
    settings = load_settings(env={"BACKOFFICE_PORT": "9090", "ACTION_SERVER_PORT": "9055"}, env_file=tmp_path / "none")
    assert settings.case_api_url == "http://127.0.0.1:9090/api/v1"
    assert settings.action_endpoint_url == "http://127.0.0.1:9055/webhook"


def test_flags_and_numbers_are_parsed(tmp_path: Path) -> None:
    settings = load_settings(env={"DEMO_MODE": "false", "CASE_API_TIMEOUT_SECONDS": "1.5"}, env_file=tmp_path / "none")
    assert settings.demo_mode is False
    assert settings.case_api_timeout_seconds == 1.5


def test_settings_round_trip_through_the_environment(tmp_path: Path) -> None:
    original = load_settings(
        env={"REDIS_URL": "redis://127.0.0.1:6379/0", "DEMO_MODE": "false"}, env_file=tmp_path / "none"
    )
    assert load_settings(env=original.as_environment(), env_file=tmp_path / "none") == original


def test_database_urls_switch_between_async_and_blocking_drivers() -> None:
    assert to_async_url("sqlite:///var/x.db") == "sqlite+aiosqlite:///var/x.db"
    assert to_async_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert to_sync_url("postgresql+asyncpg://u@h/db") == "postgresql://u@h/db"
    assert to_sync_url("sqlite+aiosqlite:///x.db") == "sqlite:///x.db"
