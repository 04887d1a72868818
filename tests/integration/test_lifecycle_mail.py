"""Mail replies follow the lifecycle: the grace period after solving, and merged cases."""

from __future__ import annotations

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import CaseStatus
from caredesk.domain.lifecycle import LinkKind
from caredesk.services.cases import cases
from caredesk.services.channels.mail_in import Outcome
from caredesk.services.lifecycle import lifecycle
from tests.conftest import ManualClock
from tests.integration.test_mail_in import build, deliver, settings

__all__ = ["settings"]  # the mail tests' settings fixture: a support address and a key


def test_a_mail_reply_after_the_grace_period_opens_a_linked_case(
    container: Container, clock: ManualClock
) -> None:
    first = deliver(container, build(message_id="<g1@mail.example.net>"))
    assert first.case_id is not None
    cases.change_status(container.uow(), SYSTEM, clock.now(), first.case_id, CaseStatus.SOLVED)

    clock.advance(hours=container.settings.reopen_grace_hours + 1)
    late = deliver(
        container, build(message_id="<g2@mail.example.net>", in_reply_to="<g1@mail.example.net>")
    )
    assert late.outcome is Outcome.NEW_CASE
    assert late.case_id not in (None, first.case_id)
    old = cases.get_case(container.uow(), SYSTEM, first.case_id).case
    assert old.status is CaseStatus.SOLVED  # first-contact resolution stands
    [link] = lifecycle.case_links(container.uow(), SYSTEM, first.case_id)
    assert (link.kind, link.case_id) == (LinkKind.FOLLOW_UP_OF, late.case_id)


def test_mail_to_a_merged_case_lands_on_the_case_it_was_merged_into(
    container: Container, clock: ManualClock
) -> None:
    first = deliver(container, build(message_id="<m1@mail.example.net>"))
    second = deliver(container, build(message_id="<m2@mail.example.net>", subject="Again"))
    assert first.case_id is not None and second.case_id is not None
    lifecycle.merge_cases(container.uow(), SYSTEM, clock.now(), first.case_id, [second.case_id])

    clock.advance(minutes=5)
    reply = deliver(
        container, build(message_id="<m3@mail.example.net>", in_reply_to="<m2@mail.example.net>")
    )
    assert reply.case_id == first.case_id
    merged_away = cases.get_case(container.uow(), SYSTEM, second.case_id)
    assert merged_away.messages == []
    assert merged_away.case.status is CaseStatus.CLOSED
