"""The whole unit of work: every repository in one transaction, as the database adapter
builds it.

Only bootstrap, the event handlers' table and the entry points hold it; a feature's commands
ask for their own, narrower unit (`unit.py` in each feature package, see `Transaction` in
services/core/ports.py), which this one satisfies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from caredesk.services.access.ports import HasAgents, HasSessions, HasTeams, HasThrottles, HasTokens
from caredesk.services.cases.ports import HasBlobs, HasCases, HasCustomers, HasOrders, HasProducts
from caredesk.services.channels.ports import HasMail, HasOutbox, HasPortal, HasWebhooks
from caredesk.services.console.ports import HasConsole
from caredesk.services.core.ports import HasAudit, HasFormats, HasIdempotency, HasJobs, Transaction
from caredesk.services.engine.ports import HasApprovals, HasGrants, HasLedger, HasPolicies
from caredesk.services.knowledge.ports import HasArticles, HasKnownIssues, HasSearch, HasTriage
from caredesk.services.lifecycle.ports import HasLifecycle
from caredesk.services.privacy.ports import HasErasure
from caredesk.services.sla.ports import HasSla


class UnitOfWork(
    HasFormats,
    HasAudit,
    HasIdempotency,
    HasJobs,
    HasAgents,
    HasTeams,
    HasTokens,
    HasSessions,
    HasThrottles,
    HasCustomers,
    HasProducts,
    HasOrders,
    HasCases,
    HasBlobs,
    HasGrants,
    HasApprovals,
    HasLedger,
    HasPolicies,
    HasMail,
    HasOutbox,
    HasPortal,
    HasWebhooks,
    HasConsole,
    HasArticles,
    HasKnownIssues,
    HasSearch,
    HasTriage,
    HasLifecycle,
    HasErasure,
    HasSla,
    Transaction,
    Protocol,
):
    """Every repository in one transaction."""


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


if TYPE_CHECKING:
    # Each feature's unit is a part of the whole: mypy checks it here, once for all.
    from caredesk.services.access.unit import AccessUnit
    from caredesk.services.cases.unit import CasesUnit
    from caredesk.services.channels.unit import (
        MailIntakeUnit,
        OutboundMailUnit,
        PortalUnit,
        WebhooksUnit,
    )
    from caredesk.services.console.unit import ConsoleUnit
    from caredesk.services.engine.unit import EngineUnit
    from caredesk.services.knowledge.unit import KnowledgeUnit
    from caredesk.services.lifecycle.unit import LifecycleUnit
    from caredesk.services.privacy.unit import ErasureUnit
    from caredesk.services.sla.unit import SlaUnit

    def _holds_every_unit(uow: UnitOfWork) -> None:
        _access: AccessUnit = uow
        _cases: CasesUnit = uow
        _engine: EngineUnit = uow
        _knowledge: KnowledgeUnit = uow
        _lifecycle: LifecycleUnit = uow
        _sla: SlaUnit = uow
        _erasure: ErasureUnit = uow
        _console: ConsoleUnit = uow
        _mail_intake: MailIntakeUnit = uow
        _outbound_mail: OutboundMailUnit = uow
        _portal: PortalUnit = uow
        _webhooks: WebhooksUnit = uow
