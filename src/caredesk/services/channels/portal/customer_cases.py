"""The customer's own cases and orders on the portal: reading them, replying, opening one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from caredesk.domain.attachments import AttachmentLimits
from caredesk.domain.cases import Case, Channel, Message, MessageKind
from caredesk.domain.errors import DomainError, ErrorCode, NotFound, must_exist
from caredesk.domain.orders import Order
from caredesk.domain.portal import SatisfactionSurvey
from caredesk.services.cases import cases
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.channels.portal.sign_in import portal_actor
from caredesk.services.channels.unit import PortalUnit
from caredesk.services.core.ports import Page
from caredesk.services.lifecycle.lifecycle import LifecycleOptions


def _own_case(uow: PortalUnit, customer_id: str, case_id: int) -> Case:
    case = uow.cases.get(case_id)
    if case is None or case.customer_id != customer_id:
        raise NotFound("case", case_id)
    return case


def my_cases(
    uow: PortalUnit, customer_id: str, limit: int = 50, cursor: str | None = None
) -> Page[Case]:
    with uow:
        return uow.cases.find(CaseFilter(customer_id=customer_id), limit, cursor)


@dataclass(frozen=True, slots=True)
class OwnCase:
    """A customer's case as they see it: its public messages and its survey."""

    case: Case
    messages: list[Message]
    survey: SatisfactionSurvey | None


def my_case(uow: PortalUnit, customer_id: str, case_id: int) -> OwnCase:
    """The case and everything said on it to or by the customer; internal notes never."""
    with uow:
        case = _own_case(uow, customer_id, case_id)
        messages = [m for m in uow.cases.messages(case_id) if m.is_public]
        return OwnCase(case, messages, uow.portal.survey_for_case(case_id))


def my_attachment(uow: PortalUnit, customer_id: str, case_id: int, sha256: str) -> bytes:
    """An attachment of a public message on the customer's own case."""
    with uow:
        _own_case(uow, customer_id, case_id)
        attached = any(
            a.sha256 == sha256
            for m in uow.cases.messages(case_id)
            if m.is_public
            for a in m.attachments
        )
        return must_exist(uow.blobs.get(sha256) if attached else None, "attachment", sha256)


def reply(
    uow: PortalUnit,
    customer_id: str,
    now: datetime,
    case_id: int,
    *,
    body: str,
    attachments: list[cases.NewAttachment],
    attachment_limits: AttachmentLimits,
    lifecycle_options: LifecycleOptions | None = None,
) -> Message:
    """The customer writes on their case (theirs only); a solved or pending case opens again,
    and a reply long after it was solved opens a follow-up, as by email."""
    return cases.add_message(
        uow,
        portal_actor(customer_id),
        now,
        case_id,
        kind=MessageKind.INBOUND,
        body=body,
        attachments=attachments,
        attachment_limits=attachment_limits,
        lifecycle_options=lifecycle_options,
    )


def open_case(
    uow: PortalUnit,
    customer_id: str,
    now: datetime,
    *,
    subject: str,
    body: str,
    order_id: str | None,
    attachments: list[cases.NewAttachment],
    attachment_limits: AttachmentLimits,
) -> Case:
    """A new case from the portal; an order named must be the customer's own."""
    if not body.strip():
        raise DomainError(
            "tell us what happened", code=ErrorCode.VALIDATION_ERROR, details={"field": "body"}
        )
    view = cases.create_case(
        uow,
        portal_actor(customer_id),
        now,
        customer_id=customer_id,
        subject=subject,
        body=body,
        channel=Channel.PORTAL,
        order_ids=[order_id] if order_id else None,
        attachments=attachments,
        attachment_limits=attachment_limits,
    )
    return view.case


def my_orders(uow: PortalUnit, customer_id: str) -> list[Order]:
    with uow:
        return uow.orders.for_customer(customer_id)
