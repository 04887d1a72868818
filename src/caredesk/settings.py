"""Typed settings, read from CAREDESK_* environment variables (and a `.env` file).

Nothing is read at import time: call `Settings()` (or `get_settings()`) where needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, IPvAnyNetwork
from pydantic_settings import BaseSettings, SettingsConfigDict

from caredesk.domain.attachments import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_FILES,
    DEFAULT_MAX_MESSAGE_BYTES,
)
from caredesk.domain.rates import RATE_PATTERN

DEFAULT_DATABASE_URL = "sqlite:///./caredesk.db"
# Where `caredesk serve` listens unless told otherwise.
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
SMTP_SERVER_SETTINGS = frozenset({"smtp_host", "smtp_port"})
DEV_MAIL_SIGNING_KEY = "caredesk-dev-mail-key"
DEMO_ADMIN_PASSWORD = "caredesk-demo"  # the public demo login
MIN_SECRET_LENGTH = 32
# Values anyone can read in this repository or guess first: never a production secret.
KNOWN_SECRETS = frozenset(
    {DEV_MAIL_SIGNING_KEY, DEMO_ADMIN_PASSWORD, "changeme", "change-me", "secret", "password"}
)
HSTS_MAX_AGE_SECONDS = 365 * 24 * 3600


class UnsafeSettings(Exception):
    """Production mode refuses to start with these settings; the message names which."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CAREDESK_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # A setting with a deprecated name takes its names from its aliases; code still
        # passes it by its field name.
        validate_by_name=True,
    )

    env: Literal["development", "production"] = Field(
        default="development",
        description="production refuses to start with a built-in or short secret, and turns on "
        "Secure cookies and HSTS.",
    )
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: SQLite file by default, postgresql+psycopg://… to scale out.",
    )
    database_echo: bool = False
    database_pool_size: int = Field(default=10, ge=1)

    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest request body (JSON or form) accepted; forms that take files "
        "accept their files on top of it, up to max_message_attachments_bytes.",
    )
    session_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    session_cookie_secure: bool = Field(
        default=False, description="Set on deployments served over HTTPS."
    )
    base_url: str | None = Field(
        default=None,
        description="The desk's public address (scheme, host, port), for links in mail and "
        "those the command line prints; `caredesk serve` sets it from --host and --port when "
        f"unset, other commands use {DEFAULT_BASE_URL}.",
    )
    # The customer portal (docs/portal.md).
    portal_url: str | None = Field(
        default=None,
        description="The portal's public address for links in mail, when it is not "
        "base_url + /portal (else the request's).",
    )
    portal_link_ttl_seconds: int = Field(
        default=15 * 60, ge=60, description="How long a sign-in link works (once)."
    )
    portal_session_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=300)
    portal_links_per_hour: int = Field(
        default=5, ge=1, description="Sign-in links per address per hour; more are not sent."
    )
    portal_links_per_client_per_hour: int = Field(
        default=30, ge=1, description="Sign-in requests per client address per hour."
    )
    satisfaction_survey_days: int = Field(
        default=14,
        ge=1,
        description="How long a survey link works.",
        # CAREDESK_CSAT_SURVEY_DAYS is the name it had first: deployments that set it keep
        # their value (docs/glossary.md, "Deprecated names"); the new name wins over it.
        validation_alias=AliasChoices(
            "CAREDESK_SATISFACTION_SURVEY_DAYS", "CAREDESK_CSAT_SURVEY_DAYS"
        ),
    )
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    max_attachment_bytes: int = Field(
        default=DEFAULT_MAX_FILE_BYTES, ge=1024, description="Largest file attached to a message."
    )
    max_message_attachments_bytes: int = Field(
        default=DEFAULT_MAX_MESSAGE_BYTES,
        ge=1024,
        description="Largest total of the files attached to one message (console, portal, API).",
    )
    max_message_attachments: int = Field(
        default=DEFAULT_MAX_FILES, ge=1, description="Most files attached to one message."
    )

    policy_path: Path | None = Field(
        default=None,
        description="Policy put in force at start when none is (else the packaged default).",
    )

    semantic_search: bool = Field(
        default=True,
        description="Load the sentence-embedding model for semantic search and triage.",
    )
    search_lexical_weight: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description=(
            "The lexical side's share when hybrid search fuses normalised scores (0 semantic "
            "only, 1 lexical only); choose it with `caredesk kb eval --mode all`."
        ),
    )
    intent_triage: Literal["worker", "inline"] = Field(
        default="worker",
        description="Where a trained intent model reads new cases and customer messages: in a "
        "job the worker runs right after the commit (requests stay fast), or inside the request.",
    )
    embedding_model_path: Path | None = Field(
        default=None, description="A local all-MiniLM-L6-v2 copy (else the packaged one)."
    )
    embed_in_background: bool = Field(
        default=True, description="Embed changed articles and solved cases in the API process."
    )
    embed_poll_seconds: float = Field(default=30.0, gt=0)
    vector_search: Literal["sq8", "fp16", "exact"] = Field(
        default="sq8",
        description="How semantic search finds its candidates: a rough pass over a copy of the "
        "stored vectors at one byte a number (sq8) or two (fp16), re-ranked exactly, or every "
        "float32 vector scored (exact). Without faiss the index scores every vector.",
    )
    vector_search_threads: int = Field(
        default=1,
        ge=1,
        description="CPU threads faiss gives one semantic query's rough pass; an API process "
        "serves queries side by side, so one each leaves the other cores to them.",
    )
    model_threads: int = Field(
        default=1,
        ge=1,
        description="CPU threads each process gives the embedding and intent models; more than "
        "the cores left free makes them much slower, so scale out with processes instead.",
    )
    worker_model_threads: int | None = Field(
        default=None,
        ge=0,
        description="CPU threads `caredesk worker` gives the models (batched intent triage, "
        "embeddings): unset, as CAREDESK_MODEL_THREADS; 0, every core of the machine.",
    )
    model_dir: Path = Field(
        default=Path("caredesk-models"),
        description="Where `caredesk models prepare` writes the encoder's ONNX file, which "
        "lets a process encode without loading torch.",
    )
    intent_int8: bool = Field(
        default=False,
        description="Run intent models on ONNX with int8 weights (quantised on export): "
        "smaller and faster, at the accuracy docs/knowledge.md reports.",
    )
    model_runtime: Literal["auto", "onnx", "torch"] = Field(
        default="auto",
        description="How the sentence encoder runs: auto reads the ONNX file in "
        "CAREDESK_MODEL_DIR when it is there and torch otherwise; onnx requires the file.",
    )

    # The case lifecycle (docs/lifecycle.md).
    desk_timezone: str = Field(
        default="UTC", description="IANA zone in which 'tomorrow by 5pm' in a reply is read."
    )
    grant_notice_minutes: int = Field(
        default=10,
        ge=1,
        le=24 * 60,
        description="A grant made in the console tells the customer in the agent's next reply; "
        "without one in this many minutes, its message goes out on its own.",
    )
    reopen_grace_hours: float = Field(
        default=168.0,
        ge=0,
        description="A customer reply this long after solving reopens; later, a new case.",
    )
    commitment_warning_minutes: int = Field(
        default=60, ge=1, description="How long before a commitment is due its owner is alerted."
    )
    proactive_stall_days: int = Field(default=5, ge=1)
    proactive_refund_days: int = Field(default=7, ge=1)
    proactive_notify_customer: bool = Field(
        default=True, description="Tell the customer first when the scan opens a case."
    )
    proactive_scan_minutes: int = Field(
        default=60, ge=1, description="How often the worker scans orders and shipments."
    )

    live_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often an open console's live counts look for a change when nothing "
        "tells them: on SQLite, or on PostgreSQL while the process's listening connection is "
        "down (with it, a change is announced as it commits).",
    )

    embedded_worker: bool | None = Field(
        default=None,
        description="Run one job worker thread inside `caredesk serve` (default: on for SQLite).",
    )
    worker_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How long an idle worker that cannot listen for new jobs (SQLite, or "
        "PostgreSQL while its listening connection is down) waits before looking again.",
    )
    worker_listen_seconds: float = Field(
        default=5.0,
        gt=0,
        description="On PostgreSQL, how long an idle worker waits for word of new jobs before "
        "looking anyway: jobs queued for later, retries after a backoff, timers.",
    )
    job_batch_size: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="How many due jobs a worker claims at once; they run one after another.",
    )
    job_lease_seconds: float = Field(
        default=300.0, gt=0, description="How long a claimed job is held before others retake it."
    )
    job_max_attempts: int = Field(default=8, ge=1)
    job_backoff_seconds: float = Field(default=10.0, gt=0)
    job_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a webhook receiver may take to answer."
    )
    webhook_allowed_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="Networks (CIDRs, as a JSON list) webhooks may reach although they are not "
        "public: loopback, private, link-local… Every other non-public address is refused.",
    )
    job_plugins: list[str] = Field(
        default_factory=list,
        description="Extra job handlers: 'module:function' entries called with the registry.",
    )

    # Email in and out (docs/email.md).
    mail_address: str = Field(
        default="support@caredesk.example",
        description="The support mailbox: From of outbound mail, base of signed reply addresses.",
    )
    mail_from_name: str = "Customer care"
    mail_own_addresses: list[str] = Field(
        default_factory=list,
        description="Other addresses of ours (aliases): mail from them is never ingested.",
    )
    mail_domains: list[str] = Field(
        default_factory=list,
        description="Recipient domains the SMTP listener accepts (default: mail_address's).",
    )
    mail_signing_key: str = Field(
        default=DEV_MAIL_SIGNING_KEY,
        description="Signs reply plus-addresses; set a long random value in production.",
    )
    mail_max_message_bytes: int = Field(default=30 * 1_048_576, ge=1024)
    mail_rate_limit_per_hour: int = Field(
        default=60, ge=1, description="Inbound messages per sender per hour before deferral."
    )
    mail_acknowledge_new_cases: bool = Field(
        default=True, description="Send the acknowledgement template for new cases by email."
    )
    mail_transport: Literal["smtp", "outbox"] | None = Field(
        default=None,
        description="Where outbound mail goes: 'smtp' (the CAREDESK_SMTP_* server) or 'outbox' "
        "(kept in the database and shown at /admin/outbox, never sent). Unset: smtp in "
        "production or when CAREDESK_SMTP_HOST or CAREDESK_SMTP_PORT is set, else outbox.",
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)

    # --- Sign-in protection and rate limits (docs: README "Security settings") -----------------
    # Failed sign-ins are counted per account (known or not, alike) and per client address;
    # unknown, expired or revoked tokens and sign-in links per client address. The counts
    # live in the database, so every process sees the same ones.
    sign_in_free_failures: int = Field(
        default=3, ge=0, description="Failures per account before each further one waits."
    )
    sign_in_first_delay_seconds: float = Field(
        default=1.0, gt=0, description="The first wait; it doubles with every further failure."
    )
    sign_in_max_delay_seconds: float = Field(default=60.0, gt=0)
    sign_in_lock_failures: int = Field(
        default=10, ge=1, description="Failures per account that lock it, even to its password."
    )
    sign_in_lock_seconds: int = Field(
        default=900, ge=1, description="How long a lock lasts (an admin can lift it sooner)."
    )
    sign_in_failure_window_seconds: int = Field(
        default=3600, ge=1, description="A failure this long after the last one counts afresh."
    )
    sign_in_client_free_failures: int = Field(
        default=10, ge=0, description="Credential failures per client address before waits."
    )
    sign_in_client_lock_failures: int = Field(
        default=50, ge=1, description="Credential failures per client address that lock it."
    )
    rate_limits: bool = Field(
        default=True, description="Limit requests to the APIs per client address and token."
    )
    rate_limit_per_client: str = Field(
        default="600/minute",
        pattern=RATE_PATTERN,
        description="Requests per client address to the APIs and the sign-in forms.",
    )
    rate_limit_per_token: str = Field(
        default="300/minute",
        pattern=RATE_PATTERN,
        description="Requests (and MCP tool calls) per token or console session; a token "
        "may carry its own.",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db: rate-limit counters shared by every API process "
        "(else each process counts alone, in memory).",
    )

    # --- Retention (docs/privacy.md): 0 keeps that kind of data forever, the default --------
    retention_raw_mail_days: int = Field(
        default=0, ge=0, description="Days the raw source of mail (MIME) is kept; 0 = forever."
    )
    retention_attachment_days: int = Field(
        default=0, ge=0, description="Days attachments (contents and names) are kept; 0 = forever."
    )
    retention_closed_case_days: int = Field(
        default=0,
        ge=0,
        description="Days after solving or closing a case is anonymised like an erased "
        "customer's (amounts and audit facts kept); 0 = forever.",
    )
    retention_run_minutes: int = Field(
        default=60, ge=1, description="How often the worker applies the retention rules."
    )

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = True

    demo_admin_email: str = "admin@caredesk.example"
    demo_admin_password: str = DEMO_ADMIN_PASSWORD
    demo_seed: int = 7

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def outbound_transport(self) -> Literal["smtp", "outbox"]:
        """The transport chosen, or the default: a development desk with no SMTP server
        named keeps its mail, so a demo sends nothing to a server that is not there."""
        if self.mail_transport is not None:
            return self.mail_transport
        if self.production or SMTP_SERVER_SETTINGS & self.model_fields_set:
            return "smtp"
        return "outbox"

    def portal_address(self) -> str:
        """The portal's public address for links made without a request (mail, the CLI)."""
        if self.portal_url:
            return self.portal_url.rstrip("/")
        return (self.base_url or DEFAULT_BASE_URL).rstrip("/") + "/portal"

    @property
    def cookies_secure(self) -> bool:
        """Cookies only over HTTPS: always in production, else when asked for."""
        return self.session_cookie_secure or self.production

    def weak_secrets(self) -> list[str]:
        """Each secret the desk itself relies on that is built in, well known or short, said
        with the setting that fixes it. (The SMTP password is the mail server's to choose;
        the demo login is only for `caredesk demo`, which production refuses.)"""
        key = self.mail_signing_key
        if key in KNOWN_SECRETS:
            return ["CAREDESK_MAIL_SIGNING_KEY is a built-in value anyone can read"]
        if len(key) < MIN_SECRET_LENGTH:
            return [
                f"CAREDESK_MAIL_SIGNING_KEY has {len(key)} characters, under {MIN_SECRET_LENGTH}"
            ]
        return []

    def check_production(self) -> None:
        """Refuse to run in production with a secret that forges reply addresses, or with
        mail kept in the outbox, which customers would never receive."""
        if self.production and self.outbound_transport == "outbox":
            raise UnsafeSettings(
                "CAREDESK_ENV=production will not start: CAREDESK_MAIL_TRANSPORT=outbox keeps "
                "mail in the database and sends none; set it to smtp with CAREDESK_SMTP_HOST."
            )
        problems = self.weak_secrets() if self.production else []
        if problems:
            raise UnsafeSettings(
                "CAREDESK_ENV=production will not start: "
                + "; ".join(problems)
                + f". Set it to a random value of {MIN_SECRET_LENGTH} characters or more "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )


def get_settings() -> Settings:
    return Settings()
