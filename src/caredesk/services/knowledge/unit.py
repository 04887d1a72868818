"""The unit of work this feature's commands run in: the repositories they may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.access.ports import HasTeams
from caredesk.services.cases.ports import HasCases, HasCustomers, HasOrders
from caredesk.services.core.ports import HasFormats, Transaction
from caredesk.services.knowledge.ports import HasArticles, HasKnownIssues, HasSearch, HasTriage


class KnowledgeUnit(
    HasArticles,
    HasKnownIssues,
    HasSearch,
    HasTriage,
    HasCases,
    HasCustomers,
    HasOrders,
    HasTeams,
    HasFormats,
    Transaction,
    Protocol,
):
    """Articles, known issues, the search index and triage."""
