"""Two desks compared through their Zendesk APIs: every ticket with its comments and their
files, and every satisfaction rating, with each desk's own ids replaced by what they name.

A ticket is compared field by field as Zendesk's clients see it; its requester and
assignee by the user's email, its group by name; its comments in order, each with its
author's email and its files by name, type, size and the SHA-256 of the bytes the desk
serves. The two desks give the same things different ids, so the tickets of one are paired
with those of the other by a map the caller gives (the import's own)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

Get = Callable[[str], Any]
"""GET one path of a desk (`/api/v2/...`): its JSON, or its bytes for a file."""

# The ticket's fields compared as they are; the ids and links are each desk's own.
TICKET_FIELDS = (
    "subject",
    "description",
    "status",
    "priority",
    "type",
    "external_id",
    "custom_fields",
    "is_public",
    "created_at",
    "updated_at",
)
COMMENT_FIELDS = ("type", "body", "plain_body", "public", "created_at")


class DeskReader:
    """One desk read through its Zendesk API, users and groups resolved once each."""

    def __init__(self, get_json: Get, get_bytes: Get) -> None:
        self.get_json = get_json
        self.get_bytes = get_bytes
        self._emails: dict[int, str | None] = {}
        self._groups: dict[int, str] | None = None

    def pages(self, path: str, key: str) -> Iterator[dict[str, Any]]:
        """Every item of a list, following its cursor links from the first page."""
        sep = "&" if "?" in path else "?"
        url: str | None = f"{path}{sep}page[size]=100"
        while url:
            body = self.get_json(url)
            yield from body[key]
            url = body["links"]["next"] if body["meta"]["has_more"] else None

    def email(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in self._emails:
            self._emails[user_id] = self.get_json(f"/api/v2/users/{user_id}.json")["user"]["email"]
        return self._emails[user_id]

    def group(self, group_id: int | None) -> str | None:
        if self._groups is None:
            self._groups = {
                g["id"]: g["name"] for g in self.get_json("/api/v2/groups.json")["groups"]
            }
        return None if group_id is None else self._groups[group_id]

    def ticket_ids(self) -> list[int]:
        return [t["id"] for t in self.pages("/api/v2/tickets.json", "tickets")]

    def file(self, attachment: dict[str, Any]) -> tuple[Any, ...]:
        content: bytes = self.get_bytes(attachment["content_url"])
        return (
            attachment["file_name"],
            attachment["content_type"],
            attachment["size"],
            hashlib.sha256(content).hexdigest(),
        )

    def comment(self, comment: dict[str, Any]) -> dict[str, Any]:
        shown = {name: comment[name] for name in COMMENT_FIELDS}
        shown["author"] = self.email(comment["author_id"])
        shown["attachments"] = [self.file(a) for a in comment["attachments"]]
        return shown

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        ticket = self.get_json(f"/api/v2/tickets/{ticket_id}.json")["ticket"]
        shown = {name: ticket[name] for name in TICKET_FIELDS}
        shown["tags"] = sorted(ticket["tags"])
        shown["channel"] = ticket["via"]["channel"]
        shown["requester"] = self.email(ticket["requester_id"])
        shown["assignee"] = self.email(ticket["assignee_id"])
        shown["group"] = self.group(ticket["group_id"])
        path = f"/api/v2/tickets/{ticket_id}/comments.json"
        shown["comments"] = [self.comment(c) for c in self.pages(path, "comments")]
        return shown

    def ratings(self, ticket_key: Callable[[int], int]) -> list[tuple[Any, ...]]:
        """Every rating, its ticket named by `ticket_key` (the id both desks share)."""
        found = [
            (
                ticket_key(r["ticket_id"]),
                r["score"],
                r["comment"],
                self.email(r["requester_id"]),
                self.email(r["assignee_id"]),
                self.group(r["group_id"]),
            )
            for r in self.pages("/api/v2/satisfaction_ratings.json", "satisfaction_ratings")
        ]
        return sorted(found, key=repr)


def differences(source: DeskReader, copy: DeskReader, copy_of: Mapping[int, int]) -> list[str]:
    """Where `copy` differs from `source`; `copy_of` gives each source ticket's id in the
    copy. An empty list: every ticket, comment, file and rating is the same."""
    found: list[str] = []
    source_ids = source.ticket_ids()
    missing = [t for t in source_ids if t not in copy_of]
    if missing:
        found.append(f"tickets not in the copy: {missing}")
    extra = sorted(set(copy.ticket_ids()) - set(copy_of.values()))
    if extra:
        found.append(f"tickets only in the copy: {extra}")
    for ticket_id in source_ids:
        if ticket_id not in copy_of:
            continue
        theirs, ours = source.ticket(ticket_id), copy.ticket(copy_of[ticket_id])
        for name in theirs:
            if theirs[name] != ours[name]:
                found.append(f"ticket {ticket_id} {name}: {theirs[name]!r} != {ours[name]!r}")
    source_of = {copy_id: source_id for source_id, copy_id in copy_of.items()}
    ratings = source.ratings(lambda t: t), copy.ratings(lambda t: source_of.get(t, -t))
    if ratings[0] != ratings[1]:
        found.append(f"ratings: {ratings[0]!r} != {ratings[1]!r}")
    return found
