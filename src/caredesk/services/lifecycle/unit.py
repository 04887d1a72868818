"""What escalation, commitments, repeat asks, merges and the proactive scan may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.cases.ports import HasProducts
from caredesk.services.core.ports import HasFormats, Transaction
from caredesk.services.core.unit import HasCaseRecords, HasFollowOns, HasMoney, HasStaff
from caredesk.services.engine.ports import HasGrants
from caredesk.services.knowledge.ports import HasKnownIssues
from caredesk.services.lifecycle.ports import HasLifecycle


class LifecycleUnit(HasStaff, HasCaseRecords, HasFollowOns, HasLifecycle, Transaction, Protocol):
    """Follow-ups, repeat asks, commitments, routing and merges of cases.

    With what the commands it calls touch: AuditUnit.
    """


class EscalationUnit(
    HasStaff, HasCaseRecords, HasFollowOns, HasGrants, HasLifecycle, Transaction, Protocol
):
    """Handoffs to another team, with what was granted so far.

    With what the commands it calls touch: LifecycleUnit.
    """


class ProactiveUnit(
    HasStaff,
    HasCaseRecords,
    HasMoney,
    HasFollowOns,
    HasFormats,
    HasProducts,
    HasKnownIssues,
    HasLifecycle,
    Transaction,
    Protocol,
):
    """The proactive scan: known issues' customers get a case and a plan.

    With what the commands it calls touch: LifecycleUnit, EngineUnit.
    """
