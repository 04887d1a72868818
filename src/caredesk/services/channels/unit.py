"""What mail in, mail out, the portal and webhooks out may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.access.ports import HasConsoleSessions, HasThrottles, HasTokens
from caredesk.services.cases.ports import HasBlobs, HasCases, HasCustomers, HasProducts
from caredesk.services.channels.ports import HasPortal, HasWebhooks
from caredesk.services.core.ports import HasFormats, HasJobs, Transaction
from caredesk.services.core.unit import (
    HasCaseRecords,
    HasFollowOns,
    HasKnowledge,
    HasMailStore,
    HasMoney,
    HasStaff,
)
from caredesk.services.lifecycle.ports import HasLifecycle
from caredesk.services.sla.ports import HasSla


class WebhooksUnit(HasJobs, HasWebhooks, Transaction, Protocol):
    """Webhooks out: subscriptions, and the deliveries they queue as jobs.

    With what the commands it calls touch: JobsUnit.
    """


class OutboundMailUnit(
    HasMailStore, HasFormats, HasJobs, HasCustomers, HasCases, HasBlobs, Transaction, Protocol
):
    """Mail out: templates, the outbox and its sending jobs.

    With what the commands it calls touch: JobsUnit.
    """


class MailIntakeUnit(
    HasStaff,
    HasCaseRecords,
    HasFollowOns,
    HasMailStore,
    HasFormats,
    HasProducts,
    HasBlobs,
    HasLifecycle,
    Transaction,
    Protocol,
):
    """Inbound mail: a message becomes a case or a reply on one.

    With what the commands it calls touch: CasesUnit, OutboundMailUnit.
    """


class PortalUnit(
    HasStaff,
    HasCaseRecords,
    HasMoney,
    HasFollowOns,
    HasKnowledge,
    HasMailStore,
    HasFormats,
    HasTokens,
    HasConsoleSessions,
    HasThrottles,
    HasProducts,
    HasBlobs,
    HasPortal,
    HasLifecycle,
    HasSla,
    Transaction,
    Protocol,
):
    """The customer portal: sign-in links, portal sessions, a customer's own cases and surveys.

    With what the commands it calls touch: CasesUnit, EngineUnit, KnowledgeUnit,
    OutboundMailUnit, AccessUnit.
    """
