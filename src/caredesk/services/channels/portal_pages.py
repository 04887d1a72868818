"""What the portal's pages decide before they draw: the help centre's articles or search hits,
and a survey opened or answered from the email's one click."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from caredesk.domain.agents import Actor
from caredesk.domain.knowledge import Article, ArticleKind, ArticleStatus, Visibility
from caredesk.domain.search import SearchHit, SearchKind
from caredesk.services.channels import portal
from caredesk.services.channels.unit import PortalUnit
from caredesk.services.knowledge import knowledge, search
from caredesk.services.knowledge.ports import ArticleFilter
from caredesk.services.knowledge.search import Semantic

HELP_HITS = 20
HELP_ARTICLES = 50


def help_centre(
    read: Callable[[], PortalUnit], reader: Actor, q: str, semantic: Semantic | None
) -> tuple[list[SearchHit], list[Article]]:
    """Public articles matching the words typed, or, with none typed, every public article."""
    if q.strip():
        result = search.search(
            read(), reader, q, kinds=[SearchKind.ARTICLE], limit=HELP_HITS, semantic=semantic
        )
        return [h for h in result.hits if h.public], []
    articles, _ = knowledge.list_articles(
        read(),
        reader,
        ArticleFilter(
            kind=ArticleKind.ARTICLE, status=ArticleStatus.PUBLISHED, visibility=Visibility.PUBLIC
        ),
        HELP_ARTICLES,
        None,
    )
    return [], articles


def survey(
    uow: Callable[[], PortalUnit],
    read: Callable[[], PortalUnit],
    now: datetime,
    secret: str,
    score: int | None,
) -> portal.SurveyView:
    """The survey as the email's link opens it: with a score, that score is recorded."""
    if score is None:
        view = portal.open_survey(read(), secret)
        view.survey.check_open(now)
        return view
    return portal.answer_survey(uow(), now, secret, score=score, comment=None)
