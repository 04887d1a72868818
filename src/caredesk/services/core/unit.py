"""The bundles of repositories that go together, and the units of the job queue, the audit
trail and idempotency keys."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.access.ports import HasAgents, HasTeams
from caredesk.services.cases.ports import HasCases, HasCustomers, HasOrders
from caredesk.services.channels.ports import HasMail, HasOutbox, HasWebhooks
from caredesk.services.core.ports import HasAudit, HasIdempotency, HasJobs, Transaction
from caredesk.services.engine.ports import HasApprovals, HasGrants, HasLedger, HasPolicies
from caredesk.services.knowledge.ports import HasArticles, HasKnownIssues, HasSearch, HasTriage


class HasStaff(HasAgents, HasTeams, Protocol):
    """The agents and their teams."""


class HasCaseRecords(HasCustomers, HasOrders, HasCases, Protocol):
    """Customers, their orders and their cases."""


class HasMoney(HasGrants, HasApprovals, HasLedger, HasPolicies, Protocol):
    """What a grant touches: grants, approvals, the ledger and the policy versions."""


class HasFollowOns(HasAudit, HasWebhooks, HasJobs, Protocol):
    """What every command's events reach: the audit trail, webhooks and the jobs they queue."""


class HasKnowledge(HasArticles, HasKnownIssues, HasSearch, HasTriage, Protocol):
    """Articles, known issues, the search index and triage's records."""


class HasMailStore(HasMail, HasOutbox, Protocol):
    """Mail in and out, and the development outbox."""


class JobsUnit(HasJobs, Transaction, Protocol):
    """The job queue: durable jobs and timers."""


class IdempotencyUnit(HasIdempotency, Transaction, Protocol):
    """Idempotency keys and the answers stored under them."""


class AuditUnit(HasFollowOns, Transaction, Protocol):
    """The audit trail, and the webhooks each audit event may match.

    With what the commands it calls touch: WebhooksUnit.
    """
