"""What an operator watches across every process (the figures /metrics shows)."""

from __future__ import annotations

from datetime import datetime

from caredesk.domain.agents import Actor, Permission
from caredesk.services.console.ports import OperationsFigures
from caredesk.services.console.unit import ConsoleUnit
from caredesk.services.core.reads import read


def operations_figures(uow: ConsoleUnit, actor: Actor, now: datetime) -> OperationsFigures:
    """The job queue, grants, approvals and mail as the database has them: the same from
    whichever process answers, so a scrape of any one of them is the desk's."""
    return read(uow, actor, Permission.MANAGE_JOBS, lambda u: u.console.operations(now))
