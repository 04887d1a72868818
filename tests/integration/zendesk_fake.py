"""A small Zendesk account on loopback, in Zendesk's JSON shapes, for the import's tests.

It answers what zenpy asks while importing: `users/me.json`, the incremental cursor exports
of users and tickets (two objects a page, the cursor the last object's time and id), the
comments of a ticket, groups, organisations, ticket fields, satisfaction ratings and
attachment files. Tests change `account` between runs to play changes at the source."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

EMAIL = "admin@acme.test"
TOKEN = "zd-secret-token"
PAGE = 2
FILE_BYTES = b"%PDF-1.4 receipt\x00\x01\x02" * 10
BIG_BYTES = 4096


def _user(uid: int, name: str, email: str, role: str, at: str) -> dict[str, Any]:
    return {
        "id": uid,
        "name": name,
        "email": email,
        "role": role,
        "created_at": at,
        "updated_at": at,
    }


def comment(
    cid: int,
    author: int,
    body: str,
    at: str,
    *,
    public: bool = True,
    files: list[Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": cid,
        "author_id": author,
        "body": body,
        "public": public,
        "created_at": at,
        "attachments": files or [],
    }


def _ticket(tid: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": tid,
        "subject": f"Ticket {tid}",
        "priority": "normal",
        "tags": [],
        "custom_fields": [],
        "via": {"channel": "email"},
        "group_id": None,
        "assignee_id": None,
        "organization_id": None,
        **fields,
    }


@dataclass
class Account:
    users: list[dict[str, Any]]
    tickets: list[dict[str, Any]]
    comments: dict[int, list[dict[str, Any]]]
    groups: list[dict[str, Any]]
    organizations: list[dict[str, Any]]
    ticket_fields: list[dict[str, Any]]
    ratings: list[dict[str, Any]]
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


def account() -> Account:
    t = "2024-03-0{}T09:00:00Z".format
    return Account(
        users=[
            _user(101, "Ada Agent", "ada@desk.test", "agent", t(1)),
            _user(201, "Alice Buyer", "alice@example.com", "end-user", t(1)),
            _user(202, "Bob Buyer", "bob@example.com", "end-user", t(2)),
            _user(102, "Max Admin", "max@desk.test", "admin", t(2)),
            _user(203, "Carol Client", "carol@example.com", "end-user", t(3)),
        ],
        tickets=[
            _ticket(
                1001,
                subject="Refund for the blender",
                status="solved",
                priority="high",
                requester_id=201,
                assignee_id=101,
                group_id=11,
                organization_id=21,
                tags=["refund", "vip"],
                custom_fields=[{"id": 360001, "value": "#W100"}, {"id": 999, "value": "x"}],
                created_at="2024-03-01T10:00:00Z",
                updated_at="2024-03-02T15:30:00Z",
            ),
            _ticket(
                1002,
                subject="Where is my parcel",
                status="open",
                requester_id=202,
                group_id=12,
                created_at="2024-03-03T08:00:00Z",
                updated_at="2024-03-03T09:00:00Z",
            ),
            _ticket(
                1003,
                subject="From nobody",
                status="open",
                requester_id=999,
                created_at="2024-03-04T08:00:00Z",
                updated_at="2024-03-04T08:00:00Z",
            ),
            _ticket(
                1004,
                subject="Photos of the damage",
                status="pending",
                requester_id=203,
                assignee_id=102,
                created_at="2024-03-05T08:00:00Z",
                updated_at="2024-03-05T09:00:00Z",
            ),
        ],
        comments={
            1001: [
                comment(
                    5001,
                    201,
                    "The blender broke after a week.",
                    "2024-03-01T10:00:00Z",
                    files=[_file(7001, "receipt.pdf", len(FILE_BYTES))],
                ),
                comment(5002, 101, "Checked the order.", "2024-03-01T11:00:00Z", public=False),
                comment(5003, 101, "Refund issued.", "2024-03-02T15:30:00Z"),
            ],
            1002: [comment(5101, 202, "No parcel yet.", "2024-03-03T08:00:00Z")],
            1003: [comment(5201, 999, "Hello?", "2024-03-04T08:00:00Z")],
            1004: [
                comment(
                    5301,
                    203,
                    "Here are photos.",
                    "2024-03-05T08:00:00Z",
                    files=[_file(7002, "huge.jpg", BIG_BYTES)],
                )
            ],
        },
        groups=[{"id": 11, "name": "Billing"}, {"id": 12, "name": "Shipping"}],
        organizations=[{"id": 21, "name": "Acme Corp"}],
        ticket_fields=[
            {"id": 360001, "title": "Order number", "type": "text", "active": True, "position": 1},
            {
                "id": 360002,
                "title": "Reason",
                "type": "tagger",
                "active": True,
                "position": 2,
                "custom_field_options": [{"id": 1, "name": "Broken", "value": "broken"}],
            },
        ],
        ratings=[
            {
                "id": 8001,
                "ticket_id": 1001,
                "score": "good",
                "comment": "Quick refund, thanks",
                "created_at": "2024-03-02T16:00:00Z",
                "updated_at": "2024-03-02T17:00:00Z",
            },
            {
                "id": 8002,
                "ticket_id": 1002,
                "score": "offered",
                "created_at": "2024-03-03T10:00:00Z",
            },
            {
                "id": 8003,
                "ticket_id": 1004,
                "score": "superb",
                "created_at": "2024-03-03T11:00:00Z",
            },
        ],
        files={"7001": FILE_BYTES, "7002": b"x" * BIG_BYTES},
    )


def _file(fid: int, name: str, size: int) -> dict[str, Any]:
    return {
        "id": fid,
        "file_name": name,
        "content_type": "application/octet-stream",
        "size": size,
        "content_url": f"/files/{fid}",
    }


def _key(item: dict[str, Any]) -> str:
    return f"{item['updated_at']}|{item['id']:012d}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        data = self.server.account
        data.requests.append(parts.path)
        expected = base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self._json(401, {"error": "Couldn't authenticate you"})
            return
        if parts.path.startswith("/files/"):
            name = parts.path.removeprefix("/files/")
            if name in data.files:
                self._bytes(data.files[name])
            else:
                self._json(404, {"error": "RecordNotFound"})
            return
        # zenpy asks for some lists without the `.json` (satisfaction_ratings).
        path = parts.path.removeprefix("/api/v2/").removesuffix(".json") + ".json"
        lists = {
            "groups.json": ("groups", data.groups),
            "organizations.json": ("organizations", data.organizations),
            "ticket_fields.json": ("ticket_fields", data.ticket_fields),
            "satisfaction_ratings.json": ("satisfaction_ratings", data.ratings),
        }
        if path == "users/me.json":
            self._json(200, {"user": data.users[0] | {"email": EMAIL}})
        elif path in lists:
            name, items = lists[path]
            paging = {"next_page": None, "meta": {"has_more": False}, "links": {"next": None}}
            self._json(200, {name: items, "count": len(items), **paging})
        elif path in ("incremental/users/cursor.json", "incremental/tickets/cursor.json"):
            name = path.split("/")[1]
            self._json(200, self._export(name, query.get("cursor")))
        elif path.startswith("tickets/") and path.endswith("/comments.json"):
            ticket_id = int(path.split("/")[1])
            self._json(200, {"comments": data.comments.get(ticket_id, []), "next_page": None})
        else:
            self._json(404, {"error": "RecordNotFound"})

    def _export(self, name: str, cursor: str | None) -> dict[str, Any]:
        items = sorted(getattr(self.server.account, name), key=_key)
        rest = [item for item in items if cursor is None or _key(item) > cursor]
        page = rest[:PAGE]
        after = _key(page[-1]) if page else cursor
        end = len(rest) <= PAGE
        base = f"http://{self.headers['Host']}/api/v2/incremental/{name}/cursor.json"
        return {
            name: page,
            "after_cursor": after,
            "after_url": None if end else f"{base}?cursor={after}",
            "before_cursor": None,
            "before_url": None,
            "end_of_stream": end,
        }

    def _json(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).replace('"/files/', f'"http://{self.headers["Host"]}/files/')
        raw = payload.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _bytes(self, content: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)


class _Server(ThreadingHTTPServer):
    account: Account


@contextmanager
def serve(data: Account) -> Iterator[str]:
    """The account served on a free loopback port; yields its URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.account = data
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
