"""The whole unit of work: every repository in one transaction, as the database adapter
builds it.

Only bootstrap, the event handlers' table and the entry points hold it; a feature's commands
ask for their own, narrower unit (`unit.py` in each feature package, see `Transaction` in
services/core/ports.py), which this one satisfies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from caredesk.services.console.unit import ConsoleUnit
from caredesk.services.core.ports import HasIdempotency
from caredesk.services.privacy.ports import HasErasure
from caredesk.services.reports.ports import HasReports
from caredesk.services.zendesk.ports import (
    HasCaseStream,
    HasImportRecords,
    HasRatings,
    HasTicketFields,
    HasUploads,
    HasUserIds,
)


class UnitOfWork(
    ConsoleUnit,
    HasIdempotency,
    HasErasure,
    HasUserIds,
    HasCaseStream,
    HasRatings,
    HasTicketFields,
    HasImportRecords,
    HasUploads,
    HasReports,
    Protocol,
):
    """Every repository in one transaction: the console's (which reaches every feature's),
    idempotency keys, erasure's, the Zendesk API's user ids, uploads and ticket fields, and
    the import from Zendesk's checkpoints and id mapping, and the reports' queries."""


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
    from caredesk.services.core.unit import AuditUnit, IdempotencyUnit, JobsUnit
    from caredesk.services.engine.unit import EngineUnit
    from caredesk.services.knowledge.unit import KnowledgeUnit
    from caredesk.services.lifecycle.unit import EscalationUnit, LifecycleUnit, ProactiveUnit
    from caredesk.services.privacy.unit import ErasureUnit
    from caredesk.services.sla.unit import SlaUnit
    from caredesk.services.zendesk.import_records import ImportUnit
    from caredesk.services.zendesk.unit import ZendeskUnit

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
        _audit: AuditUnit = uow
        _idempotency: IdempotencyUnit = uow
        _jobs: JobsUnit = uow
        _escalation: EscalationUnit = uow
        _proactive: ProactiveUnit = uow
        _zendesk: ZendeskUnit = uow
        _zendesk_import: ImportUnit = uow
