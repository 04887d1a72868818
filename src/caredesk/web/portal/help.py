"""The portal's help: the public knowledge base, for anyone, signed in or not."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from caredesk.domain.agents import Actor
from caredesk.domain.errors import NotFound
from caredesk.domain.knowledge import ArticleKind, ArticleStatus
from caredesk.services.channels import portal, portal_pages
from caredesk.services.knowledge import knowledge
from caredesk.web.deps import ContainerDep
from caredesk.web.portal.common import MaybeCustomer, PortalCustomer, PortalRoute, render

router = APIRouter(prefix="/portal", route_class=PortalRoute, include_in_schema=False)


@router.get("/help")
def help_centre(
    request: Request,
    customer: MaybeCustomer,
    container: ContainerDep,
    q: Annotated[str, Query(max_length=500)] = "",
) -> HTMLResponse:
    hits, articles = portal_pages.help_centre(
        container.uow.read_only, _reader(customer), q, container.semantic
    )
    return render(request, "help.html", customer, q=q, hits=hits, articles=articles)


@router.get("/help/{ref}")
def article(
    ref: Annotated[str, Path(max_length=200)],
    request: Request,
    customer: MaybeCustomer,
    container: ContainerDep,
) -> HTMLResponse:
    found = knowledge.get_article(container.uow.read_only(), _reader(customer), ref)
    if found.status is not ArticleStatus.PUBLISHED or found.kind is not ArticleKind.ARTICLE:
        raise NotFound("article", ref)
    return render(request, "article.html", customer, article=found)


def _reader(customer: PortalCustomer | None) -> Actor:
    # Anyone may read public articles; reading them as a customer keeps drafts out.
    return portal.portal_actor(customer.customer_id if customer else "anonymous")
