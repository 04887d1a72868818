"""zenpy, Zendesk's Python client, against a live caredesk: its own objects and calls."""

from __future__ import annotations

import io
import time
import uuid
from itertools import islice
from typing import TYPE_CHECKING, Any

from zenpy.lib.api_objects import Comment, CustomField, Ticket, User

from tests.contract.conftest import ORDER_FIELD

if TYPE_CHECKING:
    from zenpy import Zenpy

PHOTO = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


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


def test_zenpy_reads_a_requester_it_met_on_a_ticket(zenpy_client: Zenpy) -> None:
    ticket = next(islice(zenpy_client.tickets(), 1))
    # zenpy resolves requester_id into a User through GET /users/{id}.json.
    assert ticket.requester.role == "end-user"
    assert ticket.requester.id == ticket.requester_id


def _word() -> str:
    """A word no other test's data holds: the tests share one desk."""
    return f"w{uuid.uuid4().hex[:10]}"


def _open(zenpy: Zenpy, word: str, **fields: Any) -> Ticket:
    """A ticket of a new requester, made through zenpy's own objects."""
    made = zenpy.tickets.create(
        Ticket(
            subject=f"Kettle {word}",
            requester=User(name=f"Ada {word}", email=f"{word}@example.com"),
            comment=Comment(body=f"The kettle {word} leaks."),
            **fields,
        )
    )
    ticket: Ticket = made.ticket
    return ticket


def test_zenpy_creates_a_ticket_with_a_file_and_reads_the_file_back(
    zenpy_client: Zenpy,
) -> None:
    word = _word()
    upload = zenpy_client.attachments.upload(io.BytesIO(PHOTO), target_name="leak.png")
    made = zenpy_client.tickets.create(
        Ticket(
            subject=f"Leak {word}",
            requester=User(name=f"Ada {word}", email=f"{word}@example.com"),
            comment=Comment(body="Photo attached.", uploads=[upload.token]),
            tags=["kettle", word],
            priority="high",
            custom_fields=[CustomField(id=ORDER_FIELD.id, value="A-1001")],
        )
    )
    assert [e["type"] for e in made.audit.events][-1] == "Comment"
    # What the desk holds now, read back through the API.
    held = zenpy_client.tickets(id=made.ticket.id)
    assert (held.subject, held.priority, held.status) == (f"Leak {word}", "high", "new")
    assert sorted(held.tags) == sorted(["kettle", word])
    assert [(f["id"], f["value"]) for f in held.custom_fields] == [(ORDER_FIELD.id, "A-1001")]
    assert held.requester.email == f"{word}@example.com"
    (comment,) = zenpy_client.tickets.comments(ticket=held.id)
    (attached,) = comment.attachments
    assert (attached.file_name, attached.size) == ("leak.png", len(PHOTO))
    # The file comes back byte for byte, over zenpy's own signed-in session.
    got = zenpy_client.tickets.session.get(attached.content_url, timeout=30)
    assert got.status_code == 200 and got.content == PHOTO


def test_zenpy_updates_a_ticket_and_comments_publicly_and_privately(
    zenpy_client: Zenpy,
) -> None:
    word = _word()
    ticket = _open(zenpy_client, word)
    me = zenpy_client.users.me()
    group = next(iter(zenpy_client.groups()))
    ticket.status, ticket.tags = "pending", ["waiting", word]
    ticket.assignee_id, ticket.group_id = me.id, group.id
    ticket.comment = Comment(body="We are sending a new one.", public=True)
    assert zenpy_client.tickets.update(ticket).ticket.status == "pending"
    ticket.comment = Comment(body="Courier booked for Monday.", public=False)
    zenpy_client.tickets.update(ticket)
    held = zenpy_client.tickets(id=ticket.id)
    assert (held.status, held.assignee_id, held.group_id) == ("pending", me.id, group.id)
    assert sorted(held.tags) == sorted(["waiting", word])
    comments = list(zenpy_client.tickets.comments(ticket=ticket.id))
    assert [(c.public, c.author_id == me.id) for c in comments] == [
        (True, False),
        (True, True),
        (False, True),
    ]
    assert comments[2].body == "Courier booked for Monday."


def test_zenpy_creates_a_user_and_then_updates_it(zenpy_client: Zenpy) -> None:
    word = _word()
    email = f"{word}@example.com"
    made = zenpy_client.users.create(User(name=f"Bea {word}", email=email))
    assert (made.role, made.email) == ("end-user", email)
    changed = zenpy_client.users.create_or_update(User(name=f"Beatrice {word}", email=email))
    assert changed.id == made.id
    assert zenpy_client.users(id=made.id).name == f"Beatrice {word}"
    other = zenpy_client.users.create_or_update(User(name="Cy Young", email=f"cy{word}@ex.com"))
    assert other.id != made.id and other.role == "end-user"


def test_zenpy_searches_tickets_and_users_with_its_query_builder(zenpy_client: Zenpy) -> None:
    word = _word()
    urgent = _open(zenpy_client, word, priority="urgent", tags=["fragile"])
    low = _open(zenpy_client, word, priority="low")
    found = zenpy_client.search(f"kettle {word}", type="ticket", status_less_than="solved")
    assert sorted(t.id for t in found) == sorted([urgent.id, low.id])
    high = zenpy_client.search(word, type="ticket", priority_greater_than="normal")
    assert [t.id for t in high] == [urgent.id]
    unbreakable = zenpy_client.search(word, type="ticket", minus="tags:fragile")
    assert [t.id for t in unbreakable] == [low.id]
    assert zenpy_client.search.count(word, type="ticket") == 2
    users = zenpy_client.search(word, type="user")
    assert sorted(u.email for u in users) == [f"{word}@example.com"]
    (by_email,) = zenpy_client.users.search(query=f"email:{word}@example.com")
    assert by_email.id == urgent.requester_id


def test_zenpy_pages_the_users_both_ways(zenpy_client: Zenpy) -> None:
    for n in range(3):
        zenpy_client.users.create(User(name=f"Page {n}", email=f"{_word()}@example.com"))
    ids = [u.id for u in zenpy_client.users(cursor_pagination=4)]
    assert len(ids) == len(set(ids)) > 4 and ids == sorted(ids)
    by_offset = zenpy_client.users(cursor_pagination=False)
    assert [u.id for u in by_offset] == ids


def test_zenpy_reads_tickets_incrementally_and_an_updated_one_comes_again(
    zenpy_client: Zenpy,
) -> None:
    start = int(time.time()) - 1
    ticket = _open(zenpy_client, _word())
    first = list(zenpy_client.tickets.incremental(start_time=start, per_page=1))
    assert ticket.id in [t.id for t in first]
    ticket.status = "open"
    zenpy_client.tickets.update(ticket)
    # Read to the end of the stream again: the changed ticket is the last, as it now is.
    again = list(zenpy_client.tickets.incremental(start_time=start, per_page=1))
    assert (again[-1].id, again[-1].status) == (ticket.id, "open")
    assert [t.id for t in again].count(ticket.id) == 1
    everyone = list(zenpy_client.tickets.incremental(start_time=0))
    assert len(everyone) >= len(again) and ticket.id in {t.id for t in everyone}


def test_zenpy_reads_users_incrementally(zenpy_client: Zenpy) -> None:
    start = int(time.time()) - 1
    word = _word()
    made = zenpy_client.users.create(User(name=f"Dee {word}", email=f"{word}@example.com"))
    seen = list(zenpy_client.users.incremental(start_time=start, per_page=1))
    assert made.id in [u.id for u in seen]
    zenpy_client.users.create_or_update(User(name=f"Deirdre {word}", email=made.email))
    again = list(zenpy_client.users.incremental(start_time=start, per_page=1))
    assert (again[-1].id, again[-1].name) == (made.id, f"Deirdre {word}")


def test_zenpy_reads_the_satisfaction_ratings(zenpy_client: Zenpy) -> None:
    ratings = list(zenpy_client.satisfaction_ratings())
    assert ratings and {r.score for r in ratings} <= {"good", "bad", "offered"}
    assert len({r.id for r in ratings}) == len(ratings)
    # (zenpy 2.0.57 has no call for one rating by id: its endpoint takes none.)
    rated = zenpy_client.tickets(id=ratings[0].ticket_id)
    assert rated.requester_id == ratings[0].requester_id


def test_zenpy_reads_the_ticket_fields(zenpy_client: Zenpy) -> None:
    fields = list(zenpy_client.ticket_fields())
    assert [(f.id, f.title, f.type) for f in fields] == [
        (ORDER_FIELD.id, ORDER_FIELD.title, ORDER_FIELD.type)
    ]
    assert zenpy_client.ticket_fields(id=ORDER_FIELD.id).title == ORDER_FIELD.title
