"""caredesk's records in Zendesk's shapes: tickets, comments, users, groups and audits.

Field names and values are Zendesk's (docs/zendesk.md has the mapping): cases are tickets,
`on-hold` is `hold`, teams are groups, messages are comments (a note is `public: false`),
customers and agents are users under one integer id each (services/zendesk). Times are ISO
8601 in UTC with a `Z`, as Zendesk writes them."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from caredesk.domain.agents import Agent, Role, Team
from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import Attachment, Case, CaseStatus, Channel, Message, MessageKind
from caredesk.domain.customers import Customer
from caredesk.services.zendesk.ports import TicketField, UserRef

UserIds = Mapping[UserRef, int]

STATUS_OUT: dict[CaseStatus, str] = {s: s.value for s in CaseStatus} | {CaseStatus.ON_HOLD: "hold"}
STATUS_IN: dict[str, CaseStatus] = {name: status for status, name in STATUS_OUT.items()}
VIA: dict[Channel, str] = {
    Channel.EMAIL: "email",
    Channel.PORTAL: "web",
    Channel.API: "api",
    Channel.PHONE: "voice",
    Channel.CHAT: "chat",
    Channel.PROACTIVE: "rule",
}
# Zendesk's attachment ids are integers; caredesk stores a file once under its SHA-256, and
# the first 52 bits of that hash are an integer every JSON reader keeps exactly.
ATTACHMENT_ID_HEX_DIGITS = 13


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _via(channel: Channel) -> dict[str, Any]:
    return {"channel": VIA[channel], "source": {"from": {}, "to": {}, "rel": None}}


def _custom_fields(case: Case) -> list[dict[str, Any]]:
    """Zendesk's custom fields are numbered; a case's fields named by a number are theirs
    (the desk's own named fields, such as a grant's pending notice, stay inside)."""
    return [
        {"id": int(name), "value": value}
        for name, value in sorted(case.custom_fields.items(), key=lambda kv: kv[0])
        if name.isdigit()
    ]


def ticket(
    case: Case, ids: UserIds, base: str, *, description: str | None = None
) -> dict[str, Any]:
    assert case.id is not None
    requester = ids.get(UserRef.customer(case.customer_id))
    assignee = ids.get(UserRef.agent(case.assignee_id)) if case.assignee_id else None
    return {
        "id": case.id,
        "url": f"{base}/api/v2/tickets/{case.id}.json",
        "external_id": case.external_id,
        "type": None,
        "subject": case.subject,
        "raw_subject": case.subject,
        "description": description,
        "priority": case.priority.value,
        "status": STATUS_OUT[case.status],
        "recipient": None,
        "requester_id": requester,
        "submitter_id": requester,
        "assignee_id": assignee,
        "organization_id": None,
        "group_id": case.team_id,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "problem_id": None,
        "has_incidents": False,
        "is_public": True,
        "due_at": None,
        "tags": list(case.tags),
        "custom_fields": _custom_fields(case),
        "fields": _custom_fields(case),
        "satisfaction_rating": None,
        "sharing_agreement_ids": [],
        "followup_ids": [],
        "brand_id": None,
        "allow_channelback": False,
        "allow_attachments": True,
        "via": _via(case.channel),
        "created_at": iso(case.created_at),
        "updated_at": iso(case.updated_at),
    }


def attachment(item: Attachment, base: str) -> dict[str, Any]:
    return {
        "id": int(item.sha256[:ATTACHMENT_ID_HEX_DIGITS], 16),
        "file_name": item.filename,
        "content_url": f"{base}/api/v2/attachments/{item.sha256}/content",
        "content_type": item.content_type,
        "size": item.size,
        "inline": False,
        "deleted": False,
        "thumbnails": [],
    }


def html_body(text: str) -> str:
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    inner = "".join(f"<p>{html.escape(p.strip()).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f'<div class="zd-comment" dir="auto">{inner}</div>'


def author_of(message: Message) -> UserRef | None:
    if message.author_agent_id is not None:
        return UserRef.agent(message.author_agent_id)
    if message.author_customer_id is not None:
        return UserRef.customer(message.author_customer_id)
    return None


def comment(message: Message, ids: UserIds, base: str, channel: Channel) -> dict[str, Any]:
    author = author_of(message)
    return {
        "id": message.id,
        "type": "Comment",
        "author_id": ids.get(author) if author is not None else None,
        "body": message.body,
        "html_body": html_body(message.body),
        "plain_body": message.body,
        "public": message.kind is not MessageKind.NOTE,
        "attachments": [attachment(a, base) for a in message.attachments],
        "audit_id": None,
        "via": _via(channel if message.kind is MessageKind.INBOUND else Channel.API),
        "metadata": {"system": {}, "custom": {}},
        "created_at": iso(message.created_at),
    }


def user(user_id: int | None, base: str, **fields: Any) -> dict[str, Any]:
    """A user with Zendesk's every field, those given set."""
    return {
        "id": user_id,
        "url": f"{base}/api/v2/users/{user_id}.json" if user_id is not None else None,
        "time_zone": None,
        "iana_time_zone": None,
        "phone": None,
        "shared_phone_number": None,
        "photo": None,
        "locale": "en-US",
        "locale_id": 1,
        "organization_id": None,
        "verified": True,
        "external_id": None,
        "tags": [],
        "alias": "",
        "active": True,
        "shared": False,
        "shared_agent": False,
        "last_login_at": None,
        "two_factor_auth_enabled": False,
        "signature": None,
        "details": "",
        "notes": "",
        "role_type": None,
        "custom_role_id": None,
        "moderator": False,
        "only_private_comments": False,
        "suspended": False,
        "default_group_id": None,
        "report_csv": False,
        "user_fields": {},
        **fields,
    }


def customer_user(customer: Customer, user_id: int, base: str) -> dict[str, Any]:
    return user(
        user_id,
        base,
        name=customer.name,
        email=customer.primary_email,
        phone=customer.phones[0] if customer.phones else None,
        role="end-user",
        external_id=customer.id,
        ticket_restriction="requested",
        restricted_agent=True,
        created_at=iso(customer.created_at),
        updated_at=iso(customer.updated_at or customer.created_at),
    )


def agent_user(agent: Agent, user_id: int, base: str) -> dict[str, Any]:
    return user(
        user_id,
        base,
        name=agent.name,
        email=agent.email,
        role="admin" if agent.role is Role.ADMIN else "agent",
        active=agent.active,
        suspended=not agent.active,
        time_zone=agent.time_zone,
        iana_time_zone=agent.time_zone,
        ticket_restriction=None,
        restricted_agent=False,
        default_group_id=agent.team_ids[0] if agent.team_ids else None,
        user_fields={"caredesk_role": agent.role.value},
        created_at=None,
        updated_at=None,
    )


def group(team: Team, base: str) -> dict[str, Any]:
    return {
        "id": team.id,
        "url": f"{base}/api/v2/groups/{team.id}.json",
        "name": team.name,
        "description": "",
        "default": False,
        "deleted": False,
        "is_public": True,
        "created_at": None,
        "updated_at": None,
    }


# Zendesk's field names for the fields of a case's audit line.
AUDITED_FIELDS = {
    "subject": "subject",
    "status": "status",
    "priority": "priority",
    "assignee_id": "assignee_id",
    "team_id": "group_id",
    "tags": "tags",
    "external_id": "external_id",
}


def _audit_value(field: str, value: Any, ids: UserIds) -> Any:
    if field == "status" and isinstance(value, str):
        return STATUS_OUT[CaseStatus(value)]
    if field == "assignee_id" and isinstance(value, int):
        return ids.get(UserRef.agent(value))
    return value


def audit(
    case_id: int,
    entries: list[AuditEvent],
    ids: UserIds,
    author: UserRef | None,
    comment_out: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One Zendesk audit for the lines of the case's trail one change wrote: a Create or a
    Change event per field, and the comment it added."""
    events: list[dict[str, Any]] = []
    for entry in entries:
        created = entry.action == "case.created"
        before = entry.before or {}
        for name, value in (entry.after or {}).items():
            field = AUDITED_FIELDS.get(name)
            if field is None or (not created and before.get(name) == value):
                continue
            event: dict[str, Any] = {
                "id": entry.id,
                "type": "Create" if created else "Change",
                "field_name": field,
                "value": _audit_value(name, value, ids),
            }
            if not created:
                event["previous_value"] = _audit_value(name, before.get(name), ids)
            events.append(event)
    if comment_out is not None:
        events.append({**comment_out, "type": "Comment"})
    first = entries[0] if entries else None
    return {
        "id": first.id if first else None,
        "ticket_id": case_id,
        "created_at": iso(first.at) if first else None,
        "author_id": ids.get(author) if author is not None else None,
        "metadata": {"system": {}, "custom": {}},
        "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
        "events": events,
    }


def ticket_field(definition: TicketField, base: str) -> dict[str, Any]:
    """A ticket field as Zendesk writes one; what the desk does not keep is its default."""
    return {
        "id": definition.id,
        "url": f"{base}/api/v2/ticket_fields/{definition.id}.json",
        "type": definition.type,
        "title": definition.title,
        "raw_title": definition.title,
        "description": "",
        "raw_description": "",
        "position": definition.position,
        "active": definition.active,
        "required": False,
        "removable": True,
        "title_in_portal": definition.title,
        "visible_in_portal": False,
        "editable_in_portal": False,
        "custom_field_options": list(definition.options),
        "created_at": None,
        "updated_at": None,
    }
