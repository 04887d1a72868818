"""zenpy, Zendesk's Python client, against a live caredesk: its own objects and calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zenpy import Zenpy


def test_zenpy_signs_in_as_the_tokens_agent(zenpy_client: Zenpy) -> None:
    me = zenpy_client.users.me()
    assert me.email == "admin@caredesk.example"
    assert me.role == "admin"
    assert isinstance(me.id, int)


def test_zenpy_lists_the_groups(zenpy_client: Zenpy) -> None:
    names = {group.name for group in zenpy_client.groups()}
    assert names, "the demo store has teams"


def test_zenpy_pages_through_every_ticket_and_reads_one_with_its_comments(
    zenpy_client: Zenpy,
) -> None:
    # zenpy follows the links itself, cursor (pages of 7) or offset: every ticket once.
    tickets = list(zenpy_client.tickets(cursor_pagination=7))
    ids = [t.id for t in tickets]
    assert len(ids) == len(set(ids)) > 7
    by_offset = zenpy_client.tickets(cursor_pagination=False)
    assert len(by_offset) == len(ids)  # the answer's `count`
    assert [t.id for t in by_offset] == ids
    first = zenpy_client.tickets(id=ids[0])
    assert first.subject == tickets[0].subject
    comments = list(zenpy_client.tickets.comments(ticket=first.id))
    assert comments and comments[0].body == first.description
    assert all(c.author_id is None or isinstance(c.author_id, int) for c in comments)
    many = list(zenpy_client.tickets(ids=ids[:3]))
    assert [t.id for t in many] == ids[:3]
