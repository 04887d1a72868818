"""Who is calling /api/v2: a caredesk API token, as a bearer token or in Zendesk's basic form
`{email}/token:{token}` where the token is that agent's. Passwords are never taken here."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request

from caredesk.domain.agents import Actor
from caredesk.domain.errors import DomainError, ErrorCode, NotFound, Unauthenticated
from caredesk.services.access import auth
from caredesk.web.deps import ContainerDep, NowDep, token_actor, unscoped

TOKEN_SUFFIX = "/token"
BASIC_FORM = "send 'Authorization: Bearer <token>', or basic credentials {email}/token:{token}"


def _basic(credential: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(credential, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthenticated(f"the basic credentials are not base64; {BASIC_FORM}") from exc
    user, colon, secret = decoded.partition(":")
    if not colon or not secret:
        raise Unauthenticated(f"the basic credentials have no token; {BASIC_FORM}")
    return user, secret


def zendesk_actor(request: Request, container: ContainerDep, now: NowDep) -> Actor:
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    credential = credential.strip()
    if scheme.lower() == "bearer" and credential:
        return unscoped(token_actor(request, container, now, credential))
    if scheme.lower() != "basic" or not credential:
        raise Unauthenticated(BASIC_FORM)
    user, secret = _basic(credential)
    if not user.endswith(TOKEN_SUFFIX):
        # A password sent with every call is a password kept by every client: the desk's
        # API speaks with tokens only, which can be scoped, limited and revoked.
        raise Unauthenticated(
            "passwords are not accepted over the API; use a caredesk API token as "
            "{email}/token:{token}, or as a bearer token"
        )
    email = user.removesuffix(TOKEN_SUFFIX)
    actor = token_actor(request, container, now, secret)
    if actor.agent_id is None:
        raise Unauthenticated("this token belongs to no agent: send it as a bearer token")
    try:
        agent = auth.find_agent(container.uow.read_only(), actor, email.strip().lower())
    except NotFound:
        agent = None
    if agent is None or agent.id != actor.agent_id:
        raise DomainError(f"this token is not the token of {email}", code=ErrorCode.TOKEN_INVALID)
    return unscoped(actor)


ZendeskActor = Annotated[Actor, Depends(zendesk_actor)]
