"""Reading back what a test wrote, whole: the helpers tests share to see the store as it is."""

from __future__ import annotations

from caredesk.domain.cases import Case
from caredesk.services.cases.ports import CaseFilter, HasCases


def all_cases(uow: HasCases) -> list[Case]:
    """Every case, page after page, in the repository's order."""
    found: list[Case] = []
    cursor = None
    while True:
        page = uow.cases.find(CaseFilter(), 500, cursor)
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found
