"""What articles, search and triage may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.access.ports import HasTeams
from caredesk.services.cases.ports import HasProducts
from caredesk.services.core.ports import HasFormats, HasJobs, Transaction
from caredesk.services.core.unit import HasCaseRecords, HasKnowledge, HasMoney


class KnowledgeUnit(
    HasCaseRecords,
    HasMoney,
    HasKnowledge,
    HasFormats,
    HasJobs,
    HasTeams,
    HasProducts,
    Transaction,
    Protocol,
):
    """Articles, known issues, the search index and triage.

    With what the commands it calls touch: EngineUnit.
    """
