"""A grant's message to the customer, carried by the agent's next reply or sent alone later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import GRANT_NOTICE_SINCE, CaseStatus, Message, MessageKind
from caredesk.services.core import jobs
from caredesk.services.core.commands import command
from caredesk.services.engine.unit import EngineUnit

GRANT_NOTICE_JOB = "grant.notice"


@command
def send_grant_notice(
    uow: EngineUnit, now: datetime, case_id: int, since: str, agent_id: int | None = None
) -> bool:
    """Send a deferred grant notice on its own: no reply carried it within the delay.

    Does nothing when a reply took it meanwhile (the mark `since` is gone or newer).
    """
    with uow:
        case = uow.cases.get(case_id)
        if case is None or case.custom_fields.get(GRANT_NOTICE_SINCE) != since:
            return False
        note = case.take_grant_notice()
        if note and case.status is not CaseStatus.CLOSED:
            message = Message(
                id=None,
                case_id=case_id,
                kind=MessageKind.OUTBOUND,
                body=note,
                created_at=now,
                author_agent_id=agent_id,
            )
            case.receive_message(message, now, SYSTEM)
            uow.cases.add_message(message)
        uow.cases.save(case)
        uow.commit()
        return True


def register_grant_notices(registry: jobs.HandlerRegistry) -> None:
    registry.register(GRANT_NOTICE_JOB, _send_grant_notice)


def _send_grant_notice(ctx: jobs.JobContext, payload: dict[str, Any]) -> None:
    send_grant_notice(
        ctx.uow(),
        ctx.clock.now(),
        int(payload["case_id"]),
        str(payload["since"]),
        payload.get("agent_id"),
    )
