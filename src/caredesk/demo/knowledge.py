"""The demo store's knowledge base, from knowledge.yaml: the known-issue article the stories
need, a few help-centre answers, the macros agents insert from the case page, and the known
issue that points at its article and its program."""

from __future__ import annotations

from datetime import datetime

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
        article = knowledge.create_article(
            uow_factory(),
            SYSTEM,
            now,
            title=item.title,
            body=item.body,
            internal_notes=item.internal_notes,
            slug=item.slug,
            tags=list(item.tags),
            product_ids=list(item.product_ids),
            visibility=Visibility.PUBLIC,
            status=ArticleStatus.PUBLISHED,
        )
        article_ids[item.slug] = article.id
    for macro in data.macros:
        knowledge.create_article(
            uow_factory(),
            SYSTEM,
            now,
            title=macro.title,
            body=macro.body,
            slug=macro.slug,
            tags=list(macro.tags),
            product_ids=list(macro.product_ids),
            kind=ArticleKind.MACRO,
            status=ArticleStatus.PUBLISHED,
        )
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
