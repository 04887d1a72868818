"""The demo store's knowledge base, from knowledge.yaml: the known-issue article the stories
need, a few help-centre answers, the macros agents insert from the case page, and the known
issue that points at its article and its program."""

from __future__ import annotations

from datetime import datetime

from caredesk.demo.schema import TextRow
from caredesk.demo.tables import knowledge_data
from caredesk.domain.agents import SYSTEM
from caredesk.domain.knowledge import ArticleKind, ArticleStatus, Visibility
from caredesk.services.knowledge import knowledge
from caredesk.services.unit_of_work import UnitOfWorkFactory


def load_demo_knowledge(uow_factory: UnitOfWorkFactory, now: datetime) -> int:
    """Write the demo articles and macros, then the known issues that point at them.

    Returns how many articles were written.
    """
    data = knowledge_data()
    article_ids: dict[str, int | None] = {}
    for item in data.articles:
        article_ids[item.slug] = _publish(
            uow_factory,
            now,
            item,
            internal_notes=item.internal_notes,
            visibility=Visibility.PUBLIC,
        )
    for macro in data.macros:
        _publish(uow_factory, now, macro, kind=ArticleKind.MACRO)
    for issue in data.known_issues:
        knowledge.create_known_issue(
            uow_factory(),
            SYSTEM,
            now,
            key=issue.key,
            title=issue.title,
            description=issue.description,
            product_ids=list(issue.product_ids),
            conditions=list(issue.conditions),
            article_id=article_ids[issue.article],
            program_id=issue.program,
        )
    return len(data.articles) + len(data.macros)


def _publish(
    uow_factory: UnitOfWorkFactory,
    now: datetime,
    row: TextRow,
    *,
    internal_notes: str = "",
    kind: ArticleKind = ArticleKind.ARTICLE,
    visibility: Visibility = Visibility.INTERNAL,
) -> int | None:
    """An article or a macro, published as the file writes it; returns its id."""
    article = knowledge.create_article(
        uow_factory(),
        SYSTEM,
        now,
        title=row.title,
        body=row.body,
        internal_notes=internal_notes,
        slug=row.slug,
        tags=list(row.tags),
        product_ids=list(row.product_ids),
        kind=kind,
        visibility=visibility,
        status=ArticleStatus.PUBLISHED,
    )
    return article.id
