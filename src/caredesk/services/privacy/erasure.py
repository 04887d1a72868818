"""Erasing a customer, and retention: personal data replaced or removed, the books kept.

Both are commands: one transaction, all or nothing, audited. After the commit the
storage is compacted (when a compactor is given), so that the files keep no old copy.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from caredesk.domain.agents import SYSTEM, Actor, Permission
from caredesk.domain.erasure import ErasureReport, RetentionReport, RetentionRules
from caredesk.domain.errors import must_exist
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.jobs import HandlerRegistry, JobContext
from caredesk.services.privacy.ports import StorageCompactor
from caredesk.services.privacy.unit import ErasureUnit

log = logging.getLogger("caredesk.erasure")

RETENTION_TIMER = "privacy.retention"


def _compact(compactor: StorageCompactor | None) -> None:
    if compactor is None:
        return
    try:
        compactor.compact()
    except Exception:  # the erasure itself committed; a busy file is compacted next time
        log.warning("compacting the storage after an erasure failed", exc_info=True)


@command
def erase_customer(
    uow: ErasureUnit,
    actor: Actor,
    now: datetime,
    customer_id: str,
    *,
    compactor: StorageCompactor | None = None,
) -> ErasureReport:
    """Replace the customer's personal data everywhere with a tombstone; keep the facts.

    A customer erased before is left as is and reported `already_erased`."""
    actor.require(Permission.ERASE_PERSONAL_DATA)
    with uow:
        person, erased_at = must_exist(
            uow.erasure.personal_data(customer_id), "customer", customer_id
        )
        if erased_at is not None:
            return ErasureReport(customer_id, erased_at, already_erased=True, counts={})
        counts = uow.erasure.erase_customer(person, now).as_dict()
        publish_change(
            uow, actor, now, "customer.erased", "customer", customer_id, after={"counts": counts}
        )
        uow.commit()
    _compact(compactor)
    return ErasureReport(customer_id, now, already_erased=False, counts=counts)


@command
def run_retention(
    uow: ErasureUnit,
    actor: Actor,
    now: datetime,
    rules: RetentionRules,
    *,
    dry_run: bool = False,
    compactor: StorageCompactor | None = None,
) -> RetentionReport:
    """Remove what the rules no longer keep (a dry run only counts it).

    Closed and solved cases past their age are anonymised like an erased customer's cases;
    raw mail and attachments past theirs are removed. A run that removed something is
    audited with its counts."""
    actor.require(Permission.ERASE_PERSONAL_DATA)
    cutoffs = rules.cutoffs(now)
    with uow:
        if dry_run:
            counts = uow.erasure.retention_counts(cutoffs).as_dict()
            return RetentionReport(dry_run=True, ran_at=now, cutoffs=cutoffs, counts=counts)
        removed = uow.erasure.apply_retention(cutoffs, now)
        counts = removed.as_dict()
        if removed.total:
            publish_change(
                uow,
                actor,
                now,
                "retention.ran",
                "retention",
                now.date().isoformat(),
                after={
                    "counts": counts,
                    "rules": {
                        "raw_mail_days": rules.raw_mail_days,
                        "attachment_days": rules.attachment_days,
                        "closed_case_days": rules.closed_case_days,
                    },
                },
            )
            uow.commit()
    if counts:
        _compact(compactor)
    return RetentionReport(dry_run=False, ran_at=now, cutoffs=cutoffs, counts=counts)


def retention_timer(ctx: JobContext, rules: RetentionRules) -> None:
    if not rules.active:
        return
    report = run_retention(ctx.uow(), SYSTEM, ctx.clock.now(), rules, compactor=ctx.storage)
    if report.counts:
        log.info("retention removed %s", report.counts)


def register_retention(
    registry: HandlerRegistry, rules: RetentionRules, *, every: timedelta
) -> None:
    """A timer: each run reads what is old now, so a missed or doubled tick changes nothing."""
    registry.register_timer(RETENTION_TIMER, every, lambda ctx: retention_timer(ctx, rules))
