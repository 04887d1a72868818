"""The one wiring place: builds the desk's services from Settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine

from caredesk.adapters.clock import SystemClock
from caredesk.adapters.db.engine import build_engine
from caredesk.adapters.db.erasure_storage import SqlStorageCompactor
from caredesk.adapters.db.uow import SqlAlchemyUnitOfWorkFactory
from caredesk.adapters.formats import DeskFormats
from caredesk.adapters.mail.smtp_out import SmtpMailer
from caredesk.adapters.periodic import Periodic
from caredesk.adapters.security import Argon2PasswordHasher
from caredesk.adapters.webhook_http import HttpWebhookSender, SocketResolver
from caredesk.bootstrap.models import wire_knowledge
from caredesk.domain.attachments import AttachmentLimits
from caredesk.domain.cases import CaseChanged, CaseOpened, MessageAdded
from caredesk.domain.erasure import RetentionRules
from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed
from caredesk.domain.events import Event
from caredesk.domain.lifecycle import ScanThresholds
from caredesk.domain.throttling import ThrottleRule
from caredesk.services.access.ports import PasswordHasher, RateLimiter
from caredesk.services.access.throttling import ThrottleRules
from caredesk.services.access.token_uses import TokenUses
from caredesk.services.channels import mail_out
from caredesk.services.channels.mail_in import MailConfig, MailIntake
from caredesk.services.channels.mail_out import MailIdentity, register_mail
from caredesk.services.channels.outbox import OutboxMailer
from caredesk.services.channels.portal_mail import SurveyOptions, register_portal
from caredesk.services.channels.ports import Mailer
from caredesk.services.channels.webhooks import Outbound, register_webhooks
from caredesk.services.core import audit
from caredesk.services.core.jobs import (
    HandlerRegistry,
    JobContext,
    Polling,
    WorkerOptions,
    WorkerPool,
)
from caredesk.services.core.messagebus import Handler
from caredesk.services.core.ports import Clock, JobWakeups, TextFormats
from caredesk.services.engine.grants import register_grant_notices
from caredesk.services.knowledge import search, triage
from caredesk.services.knowledge.search import Semantic
from caredesk.services.knowledge.triage import TriageEngine
from caredesk.services.lifecycle import lifecycle
from caredesk.services.lifecycle.jobs import register_lifecycle
from caredesk.services.privacy.erasure import register_retention
from caredesk.services.privacy.ports import StorageCompactor
from caredesk.services.reports.weekly import WeeklyOptions, register_weekly
from caredesk.services.sla import sla
from caredesk.services.sla.sla import register_sla
from caredesk.settings import DEFAULT_BASE_URL, Settings

if TYPE_CHECKING:
    from pathlib import Path

    from caredesk.adapters.db.archive_format import Manifest as ArchiveManifest
    from caredesk.adapters.db.archive_format import Progress as ArchiveProgress
    from caredesk.adapters.db.live_changes import LiveChanges
    from caredesk.adapters.db.replay import SqliteReplayDatabase
    from caredesk.adapters.mail.smtp_in import SmtpListener
    from caredesk.services.zendesk.ports import ZendeskSource


@dataclass
class Container:
    settings: Settings
    engine: Engine
    uow: SqlAlchemyUnitOfWorkFactory
    clock: Clock
    hasher: PasswordHasher
    lifecycle: lifecycle.LifecycleOptions
    throttling: ThrottleRules
    outbound: Outbound
    mail: MailConfig
    retention: RetentionRules
    worker_options: WorkerOptions
    triage: TriageEngine | None = None
    semantic: Semantic | None = None
    semantic_error: str | None = None
    embed_worker: Any = None
    jobs: HandlerRegistry | None = None
    worker_pool: WorkerPool | None = None
    rate_limiter: RateLimiter | None = None
    storage: StorageCompactor | None = None
    token_uses: TokenUses = field(default_factory=TokenUses)
    token_use_writer: Periodic | None = None
    # PostgreSQL's announcements of changes to the console's live counts (SQLite polls).
    live_changes: LiveChanges | None = None

    @property
    def formats(self) -> TextFormats:
        """Markdown and YAML as the services read them, for pages that show or check them."""
        return self.uow.formats

    @property
    def attachment_limits(self) -> AttachmentLimits:
        return AttachmentLimits(
            file_bytes=self.settings.max_attachment_bytes,
            message_bytes=self.settings.max_message_attachments_bytes,
            files=self.settings.max_message_attachments,
        )

    def knowledge_changed(self) -> None:
        """Articles or solved cases changed: wake the background embedder, if running."""
        if self.embed_worker is not None:
            self.embed_worker.wake()

    def job_context(self) -> JobContext:
        return JobContext(uow=self.uow, clock=self.clock, storage=self.storage)

    def job_wakeups(self) -> JobWakeups:
        """How one idle worker hears of new jobs: PostgreSQL's notifications on a connection
        of its own; SQLite sends none, and its worker polls."""
        if self.engine.dialect.name != "postgresql":
            return Polling(self.worker_options.poll_seconds)
        from caredesk.adapters.db.job_wakeups import JobListener

        return JobListener(
            self.engine,
            listen_seconds=self.settings.worker_listen_seconds,
            poll_seconds=self.worker_options.poll_seconds,
        )

    def mail_intake(self) -> MailIntake:
        """Inbound mail into cases, as every door takes it in (SMTP, webhook, import)."""
        from caredesk.adapters.mail.parse import parse_mail

        return MailIntake(
            uow=self.uow,
            clock=self.clock,
            config=self.mail,
            parser=partial(parse_mail, max_attachment_bytes=self.settings.max_attachment_bytes),
        )

    def close(self) -> None:
        if self.token_use_writer is not None:
            self.token_use_writer.stop()
            self.token_use_writer = None
        if self.worker_pool is not None:
            self.worker_pool.stop()
            self.worker_pool = None
        if self.embed_worker is not None:
            self.embed_worker.stop()
        if self.live_changes is not None:
            self.live_changes.close()
        self.engine.dispose()


def bootstrap(
    settings: Settings, *, clock: Clock | None = None, hasher: PasswordHasher | None = None
) -> Container:
    """Raises UnsafeSettings in production with a weak secret: nothing is built then.

    `clock` and `hasher` replace the system clock and argon2 with its recommended parameters,
    for tests: a test suite that hashes thousands of throwaway passwords at the strength
    real ones need spends minutes on it."""
    settings.check_production()
    if not settings.production and settings.weak_secrets():
        import logging

        logging.getLogger("caredesk").warning(
            "development mode: %s; set it before CAREDESK_ENV=production",
            "; ".join(settings.weak_secrets()),
        )
    engine = build_engine(
        settings.database_url, echo=settings.database_echo, pool_size=settings.database_pool_size
    )
    container = Container(
        settings=settings,
        engine=engine,
        uow=SqlAlchemyUnitOfWorkFactory(engine, formats=text_formats()),
        clock=clock or SystemClock(),
        hasher=hasher or Argon2PasswordHasher(),
        lifecycle=lifecycle_options(settings),
        throttling=throttle_rules(settings),
        storage=SqlStorageCompactor(engine),
        outbound=Outbound(SocketResolver(), tuple(settings.webhook_allowed_networks)),
        mail=mail_config(settings),
        retention=retention_rules(settings),
        worker_options=worker_options(settings),
        live_changes=live_changes(engine, settings),
    )
    wire_knowledge(container)
    wire_events(container)
    wire_jobs(container)
    return container


def text_formats() -> TextFormats:
    """Markdown and YAML: what reads them for the services, and for commands with no desk."""
    return DeskFormats()


# --- the settings each service needs, bound once -----------------------------------------------


def live_changes(engine: Engine, settings: Settings) -> LiveChanges | None:
    """The process's one listener for the console's live counts on PostgreSQL; it connects
    with the first open stream, not here."""
    if engine.dialect.name != "postgresql":
        return None
    from caredesk.adapters.db.live_changes import LiveChanges

    return LiveChanges(engine, poll_seconds=settings.live_poll_seconds)


def lifecycle_options(settings: Settings) -> lifecycle.LifecycleOptions:
    try:
        zone = ZoneInfo(settings.desk_timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(
            f"unknown time zone {settings.desk_timezone!r}",
            details={"setting": "CAREDESK_DESK_TIMEZONE"},
        ) from exc
    return lifecycle.LifecycleOptions(
        timezone=zone,
        reopen_grace=timedelta(hours=settings.reopen_grace_hours),
        commitment_warning=timedelta(minutes=settings.commitment_warning_minutes),
        scan=ScanThresholds(
            stall_days=settings.proactive_stall_days,
            refund_days=settings.proactive_refund_days,
        ),
        notify_customer=settings.proactive_notify_customer,
    )


def throttle_rules(settings: Settings) -> ThrottleRules:
    def rule(free: int, lock: int) -> ThrottleRule:
        return ThrottleRule(
            free_failures=free,
            first_delay=timedelta(seconds=settings.sign_in_first_delay_seconds),
            max_delay=timedelta(seconds=settings.sign_in_max_delay_seconds),
            lock_failures=lock,
            lock_for=timedelta(seconds=settings.sign_in_lock_seconds),
            window=timedelta(seconds=settings.sign_in_failure_window_seconds),
        )

    return ThrottleRules(
        account=rule(settings.sign_in_free_failures, settings.sign_in_lock_failures),
        client=rule(settings.sign_in_client_free_failures, settings.sign_in_client_lock_failures),
    )


def mail_config(settings: Settings) -> MailConfig:
    return MailConfig(
        own_addresses=[settings.mail_address, *settings.mail_own_addresses],
        signing_key=settings.mail_signing_key,
        rate_limit_per_hour=settings.mail_rate_limit_per_hour,
        acknowledge=settings.mail_acknowledge_new_cases,
        desk_name=settings.mail_from_name,
        max_attachment_bytes=settings.max_attachment_bytes,
        reopen_grace=timedelta(hours=settings.reopen_grace_hours),
    )


def mail_identity(settings: Settings) -> MailIdentity:
    return MailIdentity(settings.mail_address, settings.mail_from_name, settings.mail_signing_key)


def survey_options(settings: Settings) -> SurveyOptions:
    return SurveyOptions(
        portal_address=settings.portal_address(),
        valid_for=timedelta(days=settings.satisfaction_survey_days),
    )


def weekly_options(settings: Settings) -> WeeklyOptions:
    return WeeklyOptions(
        base_url=settings.base_url or DEFAULT_BASE_URL,
        desk_zone=settings.desk_timezone,
        desk_name=settings.mail_from_name,
    )


def retention_rules(settings: Settings) -> RetentionRules:
    return RetentionRules.of(
        settings.retention_raw_mail_days,
        settings.retention_attachment_days,
        settings.retention_closed_case_days,
    )


def worker_options(settings: Settings) -> WorkerOptions:
    return WorkerOptions(
        lease=timedelta(seconds=settings.job_lease_seconds),
        max_attempts=settings.job_max_attempts,
        backoff_base=timedelta(seconds=settings.job_backoff_seconds),
        backoff_cap=timedelta(seconds=settings.job_backoff_max_seconds),
        poll_seconds=settings.worker_poll_seconds,
        batch_size=settings.job_batch_size,
    )


# --- wiring ------------------------------------------------------------------------------------


def wire_events(container: Container) -> None:
    """What follows what: the handlers each domain event runs before its change commits.

    Every entry point (API, console, portal, mail, tools, CLI, worker) changes things through
    the services, whose changes record these events; so every path gets the same trail.
    Within one event the handlers run in this order, the audit line of every event first.
    """
    handlers: dict[type[Event], list[Handler]] = {
        Event: [audit.record_event],
        CaseOpened: [sla.on_case_opened],
        MessageAdded: [
            sla.on_message_added,
            mail_out.on_message_added,
            lifecycle.event_handler(container.lifecycle),
        ],
        CaseChanged: [sla.on_case_changed, search.on_case_changed],
    }
    if container.triage is not None:
        # Triage first: the team, priority and SLA policy it routes to set the clocks.
        on_opened, on_message = triage.event_handlers(container.triage)
        handlers[CaseOpened].insert(0, on_opened)
        handlers[MessageAdded].insert(0, on_message)
    container.uow.bus.handlers = handlers


def wire_jobs(container: Container) -> None:
    """The job handlers and timers, one `register_<area>(registry)` call per area.

    Plugins named in `CAREDESK_JOB_PLUGINS` ('module:function') register after them.
    """
    import importlib

    registry = HandlerRegistry()
    # Each area adds one line here: `register_<area>(registry)` from its own module.
    register_sla(registry)
    if container.triage is not None:
        triage.register_triage(registry, container.triage)
    register_webhooks(
        registry, HttpWebhookSender(container.settings.webhook_timeout_seconds), container.outbound
    )
    register_mail(registry, mailer_for(container), mail_identity(container.settings))
    register_portal(registry, survey_options(container.settings))
    register_weekly(registry, weekly_options(container.settings))
    register_grant_notices(registry)
    register_lifecycle(
        registry,
        container.lifecycle,
        scan_every=timedelta(minutes=container.settings.proactive_scan_minutes),
    )
    register_retention(
        registry,
        container.retention,
        every=timedelta(minutes=container.settings.retention_run_minutes),
    )

    # Plugins last: `register` refuses a kind taken already, so none can replace a handler.
    for entry in container.settings.job_plugins:
        module_name, _, function_name = entry.partition(":")
        register = getattr(importlib.import_module(module_name), function_name or "register")
        register(registry)
    container.jobs = registry


def mailer_for(container: Container) -> Mailer:
    """The transport of outbound mail: the SMTP server, or the outbox that keeps it."""
    if container.settings.outbound_transport == "outbox":
        return OutboxMailer(container.uow, container.clock)
    return SmtpMailer(container.settings)


def accepted_domains(settings: Settings) -> list[str]:
    """The recipient domains the listener accepts: configured, else the support mailbox's."""
    if settings.mail_domains:
        return [d.lower() for d in settings.mail_domains]
    return [settings.mail_address.rpartition("@")[2].lower()]


def smtp_listener(container: Container, *, host: str, port: int, workers: int) -> SmtpListener:
    """The inbound SMTP server, delivering into the container's mail intake; `start()` it."""
    from caredesk.adapters.mail.smtp_in import SmtpListener

    intake = container.mail_intake()
    domains = accepted_domains(container.settings)
    return SmtpListener(
        lambda raw, envelope: intake.deliver(raw, envelope),
        host=host,
        port=port,
        domains=domains,
        max_message_bytes=container.settings.mail_max_message_bytes,
        workers=workers,
        # The name in our greeting: the mail domain, not whatever the interface is called.
        server_hostname=domains[0],
    )


def start_worker(container: Container) -> None:
    """One worker thread inside a serving process: on by default for the embedded SQLite."""
    embedded = container.settings.embedded_worker
    if embedded is None:
        embedded = container.engine.dialect.name == "sqlite"
    if not embedded or container.worker_pool is not None or container.jobs is None:
        return
    container.worker_pool = WorkerPool(
        container.job_context(),
        container.jobs,
        concurrency=1,
        options=container.worker_options,
        wakeups=container.job_wakeups,
    )
    container.worker_pool.start()


# --- the database ------------------------------------------------------------------------------


def upgrade_database(container: Container, revision: str = "heads") -> tuple[str, ...]:
    """Migrate the desk's database to `revision` (the latest by default); returns the
    revisions it is at now."""
    from caredesk.adapters.db.migrate import current_heads, upgrade

    upgrade(container.engine, revision)
    return current_heads(container.engine)


def refresh_case_facts(
    container: Container, done: Callable[[int, int], None] | None = None
) -> tuple[int, int]:
    """Work every case's report facts out again from its stored rows (as after a calendar's
    hours were corrected); `done` hears (cases done, cases in all). Returns (cases, changed)."""
    from caredesk.adapters.db.migrate import fill_case_facts
    from caredesk.domain.agents import SYSTEM
    from caredesk.services.cases.cases import count_cases
    from caredesk.services.cases.ports import CaseFilter

    total = count_cases(container.uow.read_only(), SYSTEM, CaseFilter())
    progress = {"done": 0}

    def batch_done(n: int) -> None:
        progress["done"] += n
        if done is not None:
            done(progress["done"], total)

    changed = fill_case_facts(container.engine, only_missing=False, done=batch_done)
    return total, changed


def database_is_current(container: Container) -> bool:
    """Whether the desk's database stands at this desk's schema (every migration applied)."""
    from caredesk.adapters.db.migrate import current_heads, script_heads

    return current_heads(container.engine) == script_heads(container.engine)


def downgrade_database(container: Container, revision: str) -> tuple[str, ...]:
    """Migrate the desk's database back to `revision` ('base' empties it); returns the
    revisions it is at now."""
    from caredesk.adapters.db.migrate import current_heads, downgrade

    downgrade(container.engine, revision)
    return current_heads(container.engine)


def export_desk(
    container: Container, path: Path, progress: ArchiveProgress | None = None
) -> ArchiveManifest:
    """Write the whole desk to an archive at `path` (docs/operations.md)."""
    from caredesk import __version__
    from caredesk.adapters.db.archive import export_archive

    return export_archive(
        container.engine,
        path,
        desk_version=__version__,
        now=container.clock.now(),
        progress=progress,
    )


def import_desk(
    container: Container, path: Path, progress: ArchiveProgress | None = None
) -> ArchiveManifest:
    """Restore an archive into the desk's database, which must be empty (docs/operations.md)."""
    from caredesk.adapters.db.archive import import_archive

    return import_archive(container.engine, path, progress=progress)


def zendesk_account(url: str, email: str, token: str) -> ZendeskSource:
    """A Zendesk account at `url`, read through zenpy as the agent of `email` and `token`
    (`caredesk import zendesk`); raises SourceRefused for an address that is no account."""
    from caredesk.adapters.zendesk_source import ZenpySource

    return ZenpySource(url, email, token)


def replay_database(container: Container) -> SqliteReplayDatabase:
    """Snapshots and changed rows of a desk on SQLite in memory, for benchmark replays."""
    from caredesk.adapters.db.replay import SqliteReplayDatabase

    return SqliteReplayDatabase(container.engine)


def ensure_policy_in_force(container: Container) -> None:
    """On a database with no policy yet, put the configured (or packaged default) one in force.

    A database that is not migrated yet is left alone: `caredesk db upgrade` comes first.
    """
    from sqlalchemy import inspect

    from caredesk.domain.agents import SYSTEM
    from caredesk.services.engine import policy

    if "policy_versions" not in inspect(container.engine).get_table_names():
        return
    path = container.settings.policy_path
    text = path.read_text(encoding="utf-8") if path else policy.packaged_policy_text()
    try:
        policy.ensure_policy(container.uow(), SYSTEM, container.clock.now(), text)
    except DomainError as exc:
        # Processes started together (several workers) race to do this; one wins, and
        # the policy it put in force is the same one.
        if exc.code is not ErrorCode.CONFLICT:
            raise


def start_rate_limiter(container: Container) -> RateLimiter | None:
    """The request counter of a serving process (API or MCP), when rate limits are on.

    Built on first need, not in `bootstrap`: commands that serve nothing count nothing."""
    if not container.settings.rate_limits:
        return None
    if container.rate_limiter is None:
        from caredesk.adapters.ratelimit import LimitsRateLimiter, MemoryRateLimiter

        redis_url = container.settings.redis_url
        container.rate_limiter = (
            LimitsRateLimiter(redis_url) if redis_url is not None else MemoryRateLimiter()
        )
    return container.rate_limiter


def start_embedder(container: Container) -> None:
    """Embed changed texts in the background of a serving process (when the model loaded)."""
    if (
        container.semantic is None
        or not container.settings.embed_in_background
        or container.embed_worker is not None
    ):
        return
    from caredesk.adapters.embed_worker import EmbeddingWorker

    container.embed_worker = EmbeddingWorker(
        container.uow,
        container.semantic.embedder,
        container.clock.now,
        container.settings.embed_poll_seconds,
    )
    container.embed_worker.start()


# How often a serving process writes the token uses it noted (docs/security.md, "API tokens").
TOKEN_USES_EVERY_SECONDS = 60.0


def start_token_use_writer(container: Container) -> None:
    """Write the API token uses this process notes, once a minute and when it stops."""
    if container.token_use_writer is not None:
        return
    uses, uow = container.token_uses, container.uow
    container.token_use_writer = Periodic(
        "token-uses", TOKEN_USES_EVERY_SECONDS, lambda: uses.flush(uow())
    )
    container.token_use_writer.start()
