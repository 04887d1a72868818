"""Replies to solved, closed and merged cases: the case a new message belongs on."""

from __future__ import annotations

from datetime import datetime, timedelta

from caredesk.domain.agents import Actor
from caredesk.domain.cases import Case, MessageKind
from caredesk.domain.lifecycle import CaseLink, LinkKind, ReplyDisposition, reply_disposition
from caredesk.services.core.changes import publish_change
from caredesk.services.lifecycle.cases import live_case, successor_case
from caredesk.services.lifecycle.options import LifecycleOptions
from caredesk.services.lifecycle.unit import LifecycleUnit


def route_message(
    uow: LifecycleUnit,
    actor: Actor,
    now: datetime,
    case: Case,
    kind: MessageKind,
    options: LifecycleOptions,
) -> Case:
    """The case a new message belongs on: the live case of a merged one; for a customer's
    reply to a case solved longer ago than the grace period (or closed), a new follow-up."""
    if kind is MessageKind.NOTE:
        return case
    case = live_case(uow, case)
    if kind is not MessageKind.INBOUND:
        return case
    if takes_reply(case, now, options.reopen_grace):
        return case
    return _open_follow_up(uow, actor, now, case)


def takes_reply(case: Case, now: datetime, grace: timedelta) -> bool:
    """Whether a customer's reply belongs on this case (else on a new, linked one)."""
    return reply_disposition(case, now, grace) is not ReplyDisposition.FOLLOW_UP


def link_follow_up(
    uow: LifecycleUnit, actor: Actor, now: datetime, case_id: int, old: Case
) -> None:
    """Record that a case opened elsewhere (by mail, say) follows up an earlier one."""
    assert old.id is not None
    uow.lifecycle.add_link(CaseLink(None, LinkKind.FOLLOW_UP_OF, case_id, old.id, now, actor.ref))
    publish_change(
        uow,
        actor,
        now,
        "case.followed_up",
        "case",
        old.id,
        case_id=old.id,
        after={"follow_up_case_id": case_id},
    )


def _open_follow_up(uow: LifecycleUnit, actor: Actor, now: datetime, old: Case) -> Case:
    assert old.id is not None
    subject = old.subject if old.subject.lower().startswith("re:") else f"Re: {old.subject}"
    case = successor_case(old, now, subject, {"follow_up_of": old.id}, old.order_ids)
    uow.cases.add(case)
    assert case.id is not None
    # The customer's message comes next, on its own event (triaged then).
    case.opened(actor, now, by_customer=False, audit_after={"follow_up_of": old.id})
    link_follow_up(uow, actor, now, case.id, old)
    return case
