"""The units of work the channels' commands run in: the repositories each may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.cases.ports import HasBlobs, HasCases, HasCustomers, HasOrders
from caredesk.services.channels.ports import HasMail, HasOutbox, HasPortal, HasWebhooks
from caredesk.services.core.ports import HasFormats, HasJobs, Transaction


class MailIntakeUnit(HasMail, HasCases, HasCustomers, HasBlobs, Transaction, Protocol):
    """Inbound mail: a message becomes a case or a reply on one."""


class OutboundMailUnit(
    HasMail, HasOutbox, HasJobs, HasCases, HasCustomers, HasBlobs, HasFormats, Transaction, Protocol
):
    """Mail out: templates, the outbox and its sending jobs."""


class PortalUnit(HasPortal, HasCases, HasCustomers, HasOrders, HasBlobs, Transaction, Protocol):
    """The customer portal: sign-in links, portal sessions, a customer's own cases and surveys."""


class WebhooksUnit(HasWebhooks, Transaction, Protocol):
    """Webhooks out: subscriptions and their deliveries."""
