"""All configuration, read from environment variables with `.env` at the repo root as fallback.

This is the only module that reads the environment. Everything else receives a `Settings`.
Each setting names its environment variable once, in the field's metadata; `as_environment`
turns settings back into variables for the child processes started by `debtbot run`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping, Optional

from dotenv import dotenv_values

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = REPO_ROOT / ".env"
VAR_DIR = REPO_ROOT / "var"
TIMEZONE = "Europe/Oslo"


def env(name: str, default: Any = None, *, secret: bool = False) -> Any:
    """A settings field read from the environment variable `name`."""
    return field(default=default, metadata={"env": name, "secret": secret})


@dataclass(frozen=True)
class Settings:
    # Secrets (generated into .env by `debtbot setup` when missing).
    case_api_key: str = env("CASE_API_KEY", "", secret=True)
    rasa_api_token: str = env("RASA_API_TOKEN", "", secret=True)
    conversation_id_key: str = env("CONVERSATION_ID_KEY", "", secret=True)  # keys SMS conversation ids
    action_server_token: str = env("ACTION_SERVER_TOKEN", "", secret=True)  # dialogue -> action server
    # Encrypts the caseworker console's session cookies; the same in every backoffice process.
    console_session_secret: str = env("CONSOLE_SESSION_SECRET", "", secret=True)
    # The Bearer token a Prometheus scrape of /metrics must carry (every process); empty: no /metrics.
    metrics_token: str = env("METRICS_TOKEN", "", secret=True)

    # Stores.
    database_url: str = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'casesystem.db'}")  # case system
    tracker_store_url: str = env("TRACKER_STORE_URL", f"sqlite:///{VAR_DIR / 'tracker.db'}")
    redis_url: str = env("REDIS_URL", "")  # Rasa lock store; empty means in-memory (one process)
    models_dir: str = env("MODELS_DIR", str(REPO_ROOT / "models"))  # trained model and its fingerprint

    # `debtbot cluster` (bot/cluster.py): nginx's public port (the internal upstreams for the action
    # servers and the dialogue servers' HTTP API are the next two) and the replicas behind it.
    cluster_port: int = env("CLUSTER_PORT", 8000)
    dialogue_replicas: int = env("DIALOGUE_REPLICAS", 2)
    action_replicas: int = env("ACTION_REPLICAS", 2)

    # Processes. Empty URLs are derived from host and ports.
    host: str = env("DEBTBOT_HOST", "127.0.0.1")
    backoffice_port: int = env("BACKOFFICE_PORT", 8080)
    rasa_port: int = env("RASA_PORT", 5005)
    action_server_port: int = env("ACTION_SERVER_PORT", 5055)
    case_api_url: str = env("CASE_API_URL", "")
    action_endpoint_url: str = env("ACTION_ENDPOINT_URL", "")
    public_base_url: str = env("PUBLIC_BASE_URL", "")  # the address Twilio signs
    # Rasa's HTTP API, which the backoffice calls to pause, resume and write in a conversation.
    dialogue_server_url: str = env("DIALOGUE_SERVER_URL", "")

    # Twilio.
    twilio_account_sid: str = env("TWILIO_ACCOUNT_SID", "")
    twilio_auth_token: str = env("TWILIO_AUTH_TOKEN", "", secret=True)
    twilio_from_number: str = env("TWILIO_FROM_NUMBER", "")
    # Where the Twilio client sends its API calls; empty means Twilio itself. Tests and local
    # trials point it at tests/fakes/twilio_api.py on 127.0.0.1.
    twilio_api_base_url: str = env("TWILIO_API_BASE_URL", "")
    sms_delivery_poll_seconds: float = env("SMS_DELIVERY_POLL_SECONDS", 5.0)
    voice_name: str = env("TWILIO_VOICE", "Polly.Ida-Neural")  # Norwegian neural voice
    voice_name_en: str = env("TWILIO_VOICE_EN", "Polly.Joanna-Neural")
    voice_speech_model: str = env("TWILIO_SPEECH_MODEL", "default")
    voice_transfer_to: str = env("VOICE_TRANSFER_TO", "")  # E.164 number or sip: address; empty: <Enqueue>
    voice_transfer_queue: str = env("VOICE_TRANSFER_QUEUE", "caseworkers")
    voice_reply_timeout_seconds: float = env("VOICE_REPLY_TIMEOUT_SECONDS", 4.0)  # then "one moment" and poll

    # The REST channel (/webhooks/rest/webhook): open on loopback for tests and integrations;
    # production sets a token or switches it off.
    rest_channel_enabled: bool = env("REST_CHANNEL_ENABLED", True)
    rest_channel_token: str = env("REST_CHANNEL_TOKEN", "", secret=True)

    # Behaviour.
    demo_mode: bool = env("DEMO_MODE", True)  # demo data and synthetic identity numbers (month + 80)
    log_level: str = env("LOG_LEVEL", "INFO")
    max_verification_failures: int = env("MAX_VERIFICATION_FAILURES", 3)
    verification_lock_minutes: int = env("VERIFICATION_LOCK_MINUTES", 30)
    case_api_timeout_seconds: float = env("CASE_API_TIMEOUT_SECONDS", 5.0)
    # Longer than one case-system call, so that an action can still say the case system is down.
    action_timeout_seconds: float = env("ACTION_TIMEOUT_SECONDS", 8.0)

    # Payment plan and postponement policy defaults (a creditor may override them in
    # bot/case_system/data/payment_plan_policy.yml). Whole kroner and days, never floats.
    plan_min_installment_kr: int = env("PLAN_MIN_INSTALLMENT_KR", 300)
    plan_max_months: int = env("PLAN_MAX_MONTHS", 24)
    plan_first_due_within_days: int = env("PLAN_FIRST_DUE_WITHIN_DAYS", 30)
    plan_fee_kr: int = env("PLAN_FEE_KR", 0)  # etableringsgebyr; no fee unless configured
    postponement_max_days: int = env("POSTPONEMENT_MAX_DAYS", 14)

    # The agency as debtors see it (never hard-coded in responses). Demo values by default:
    # the phone number is the one in the agency's privacy notice, the bank details are fictional.
    agency_name: str = env("AGENCY_NAME", "Alektum")
    agency_phone: str = env("AGENCY_PHONE", "33 74 45 00")
    agency_website: str = env("AGENCY_WEBSITE", "https://www.alektum.no")
    agency_account_number: str = env("AGENCY_ACCOUNT_NUMBER", "12345678903")
    agency_iban: str = env("AGENCY_IBAN", "NO7112345678903")
    agency_bic: str = env("AGENCY_BIC", "DEMONOKK")
    privacy_notice_url: str = env("PRIVACY_NOTICE_URL", "https://www.alektum.no/personvern")

    # Caseworkers (the console at /console). Opening hours in Oslo time, Norwegian public holidays
    # closed; the service level a handoff is answered within while open.
    caseworker_hours: str = env("CASEWORKER_HOURS", "mon-fri 08:00-16:00")
    handoff_sla_minutes: int = env("HANDOFF_SLA_MINUTES", 15)
    handoff_webhook_url: str = env("HANDOFF_WEBHOOK_URL", "")  # optional: signed POSTs on handoff changes
    handoff_webhook_secret: str = env("HANDOFF_WEBHOOK_SECRET", "", secret=True)
    # Demo mode only: the passwords setup gives the demo accounts `demo` and `supervisor`.
    caseworker_demo_password: str = env("CASEWORKER_DEMO_PASSWORD", "", secret=True)
    supervisor_demo_password: str = env("SUPERVISOR_DEMO_PASSWORD", "", secret=True)

    # Messages the agency starts (reminders, receipts, notices): only inside this window, Oslo
    # time, never on Sundays or public holidays; queued until it opens (domain/contact_window.py).
    agency_contact_hours: str = env("AGENCY_CONTACT_HOURS", "mon-fri 08:00-21:00, sat 09:00-15:00")
    plan_reminder_days_before: int = env("PLAN_REMINDER_DAYS_BEFORE", 3)  # SMS before each installment
    # A plan is broken when an installment is still unpaid this many days after its due date (moved
    # to the next bank day); the creditor's term, not law.
    plan_breach_after_days: int = env("PLAN_BREACH_AFTER_DAYS", 14)
    agency_message_poll_seconds: float = env("AGENCY_MESSAGE_POLL_SECONDS", 300.0)  # the scheduler's period

    # Retention (`debtbot retention`), defaults from the privacy notice: the personal link to a case
    # is anonymised at the latest 3 years after the case closed; data kept for development and
    # analysis (conversations) at most 3 years after the last contact.
    retention_case_link_years: int = env("RETENTION_CASE_LINK_YEARS", 3)
    retention_conversation_days: int = env("RETENTION_CONVERSATION_DAYS", 3 * 365)

    def __post_init__(self) -> None:
        derived = {
            "case_api_url": f"http://{self.host}:{self.backoffice_port}/api/v1",
            "action_endpoint_url": f"http://{self.host}:{self.action_server_port}/webhook",
            "public_base_url": f"http://{self.host}:{self.rasa_port}",
            "dialogue_server_url": f"http://{self.host}:{self.rasa_port}",
        }
        for name, default in derived.items():
            if not getattr(self, name):
                object.__setattr__(self, name, default)
        object.__setattr__(self, "public_base_url", self.public_base_url.rstrip("/"))
        object.__setattr__(self, "dialogue_server_url", self.dialogue_server_url.rstrip("/"))
        object.__setattr__(self, "log_level", self.log_level.upper())

    @property
    def async_database_url(self) -> str:
        """The case-system URL with an asyncio driver, for SQLAlchemy's async engine."""
        return to_async_url(self.database_url)

    def as_environment(self) -> dict[str, str]:
        """Every setting as the environment variable it is read from (for child processes)."""
        variables = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            variables[item.metadata["env"]] = str(value).lower() if isinstance(value, bool) else str(value)
        return variables


def _parse(value: str, kind: Any) -> Any:
    kind = {"bool": bool, "int": int, "float": float, "str": str}.get(kind, kind)
    if kind is bool:
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return kind(value.strip())


def to_async_url(url: str) -> str:
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:") :]
    if url.startswith(("postgresql:", "postgres:", "postgresql+psycopg2:")):
        return "postgresql+asyncpg:" + url.split(":", 1)[1]
    return url


def to_sync_url(url: str) -> str:
    """The same database with a blocking driver (Alembic migrations, Rasa's tracker store)."""
    if url.startswith("sqlite+aiosqlite:"):
        return "sqlite:" + url[len("sqlite+aiosqlite:") :]
    if url.startswith(("postgresql+asyncpg:", "postgres:")):
        return "postgresql:" + url.split(":", 1)[1]
    return url


def load_settings(env: Optional[Mapping[str, str]] = None, env_file: Path = ENV_FILE) -> Settings:
    """Settings from `env` (default: the process environment) over the values in `env_file`."""
    values: dict[str, str] = {}
    if env_file.exists():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if env is None else env)
    given = {
        item.name: _parse(values[item.metadata["env"]], item.type)
        for item in dataclasses.fields(Settings)
        if item.metadata["env"] in values
    }
    return Settings(**given)


def money(value: Decimal) -> str:
    """Money on the wire: NOK with exactly two decimals, as the API contract says."""
    return f"{value.quantize(Decimal('0.01'))}"
