"""Uploads: files stream past the small body limit up to the attachment limits, through the
console, the portal and the API; past a limit they are refused readably and nothing is kept."""

from __future__ import annotations

import base64
import os
import re
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container, bootstrap
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.attachments import MIB
from caredesk.domain.cases import Channel
from caredesk.domain.customers import Customer
from caredesk.services.access import auth
from caredesk.services.cases import cases
from caredesk.services.channels.portal import MemoryOutbox
from caredesk.settings import Settings
from caredesk.web.app import create_app
from tests.integration.test_api_errors import row_counts

PASSWORD = "correct horse battery"
AGENT = "uma.upload@caredesk.example"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')
LINK = re.compile(r"http://testserver(/portal/sign-in/[A-Za-z0-9_\-]+)")

# Small limits keep the tests fast; the JSON and form limit stays at its default, 1 MB.
TIGHT = {
    "max_attachment_bytes": 3 * MIB,
    "max_message_attachments_bytes": 4 * MIB,
    "max_message_attachments": 3,
}
TIGHT_PHRASE = "up to 3 files, 3 MB each and 4 MB in all"


@pytest.fixture
def people(container: Container) -> int:
    """An agent who signs in to the console, a customer who signs in to the portal, and a case
    of hers; returns the case's id."""
    now = container.clock.now()
    auth.create_agent(
        container.uow(), SYSTEM, container.hasher, now,
        email=AGENT, name="Uma", role=Role.AGENT, password=PASSWORD,
    )  # fmt: skip
    with container.uow() as uow:
        uow.customers.add(
            Customer(
                id="maya",
                first_name="Maya",
                last_name="Tester",
                emails=["maya@example.com"],
                created_at=now,
                updated_at=now,
            )
        )
        uow.commit()
    view = cases.create_case(
        container.uow(), SYSTEM, now, customer_id="maya", subject="Lamp flickers",
        body="It flickers.", channel=Channel.EMAIL,
    )  # fmt: skip
    assert view.case.id is not None
    return view.case.id


def app_for(container: Container, outbox: MemoryOutbox, **limits: Any) -> TestClient:
    """An app on the test database, with the given limits (the desk's defaults without)."""
    if limits:
        settings = Settings(**{**container.settings.model_dump(), **limits})
        container = bootstrap(settings, clock=container.clock)  # type: ignore[arg-type]
    app = create_app(container=container)
    app.state.portal_mailer = outbox
    return TestClient(app, follow_redirects=False)


@pytest.fixture
def outbox() -> MemoryOutbox:
    return MemoryOutbox()


@pytest.fixture
def default_client(container: Container, outbox: MemoryOutbox) -> Iterator[TestClient]:
    with app_for(container, outbox) as client:
        yield client


@pytest.fixture
def tight_client(container: Container, outbox: MemoryOutbox) -> Iterator[TestClient]:
    with app_for(container, outbox, **TIGHT) as client:
        yield client


def console_sign_in(client: TestClient) -> None:
    token = LOGIN_CSRF.search(client.get("/login").text)
    assert token is not None
    response = client.post(
        "/login",
        data={"email": AGENT, "password": PASSWORD, "login_csrf": token.group(1), "next": "/"},
    )
    assert response.status_code == 303, response.text


def portal_sign_in(client: TestClient, outbox: MemoryOutbox) -> str:
    assert client.post("/portal/sign-in", data={"email": "maya@example.com"}).status_code == 200
    mail = outbox.last_to("maya@example.com")
    assert mail is not None
    found = LINK.fullmatch(mail.link)
    assert found is not None
    token = LOGIN_CSRF.search(client.get(found.group(1)).text)
    assert token is not None
    assert client.post(found.group(1), data={"login_csrf": token.group(1)}).status_code == 303
    csrf = CSRF.search(client.get("/portal").text)
    assert csrf is not None
    return csrf.group(1)


def csrf_of(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found is not None
    return found.group(1)


def agent_token(container: Container) -> dict[str, str]:
    issued = auth.create_token(
        container.uow(), SYSTEM, container.clock.now(), name="uploads", role=Role.AGENT
    )
    return {"Authorization": f"Bearer {issued.secret}"}


def attachments_of(container: Container, case_id: int) -> list[tuple[str, int]]:
    with container.uow.read_only() as uow:
        return [(a.filename, a.size) for m in uow.cases.messages(case_id) for a in m.attachments]


def blob(size: int, seed: int = 1) -> bytes:
    return bytes([seed]) * size


def test_a_2_mib_file_goes_through_the_console_the_portal_and_the_api(
    default_client: TestClient, container: Container, outbox: MemoryOutbox, people: int
) -> None:
    # Twice the JSON body limit: only a route that takes files accepts it.
    two = 2 * MIB
    console_sign_in(default_client)
    sent = default_client.post(
        f"/cases/{people}/reply",
        data={"csrf_token": csrf_of(default_client, f"/cases/{people}"), "body": "The manual."},
        files={"files": ("manual.pdf", blob(two, 1), "application/pdf")},
    )
    assert sent.status_code == 303, sent.text

    csrf = portal_sign_in(default_client, outbox)
    replied = default_client.post(
        f"/portal/cases/{people}/reply",
        data={"csrf_token": csrf, "body": "A video of it."},
        files={"files": ("flicker.mp4", blob(two, 2), "video/mp4")},
    )
    assert replied.status_code == 303, replied.text
    opened = default_client.post(
        "/portal/cases",
        data={"csrf_token": csrf, "subject": "Another lamp", "body": "This one too."},
        files={"files": ("second.mp4", blob(two, 3), "video/mp4")},
    )
    assert opened.status_code == 303, opened.text

    api = default_client.post(
        f"/api/v1/cases/{people}/messages/upload",
        data={"kind": "note", "body": "The photo from the courier."},
        files={"files": ("parcel.jpg", blob(two, 4), "image/jpeg")},
        headers=agent_token(container),
    )
    assert api.status_code == 201, api.text
    assert [(a["filename"], a["size"]) for a in api.json()["attachments"]] == [("parcel.jpg", two)]
    assert attachments_of(container, people) == [
        ("manual.pdf", two),
        ("flicker.mp4", two),
        ("parcel.jpg", two),
    ]
    download = default_client.get(api.json()["attachments"][0]["url"])
    assert download.status_code == 200 and download.content == blob(two, 4)


def test_a_file_over_its_limit_is_a_readable_page_that_keeps_the_text(
    tight_client: TestClient, container: Container, outbox: MemoryOutbox, people: int
) -> None:
    too_big = ("big.mov", blob(3 * MIB + 1), "video/quicktime")
    console_sign_in(tight_client)
    csrf = csrf_of(tight_client, f"/cases/{people}")
    before = row_counts(container)

    page = tight_client.post(
        f"/cases/{people}/reply",
        data={"csrf_token": csrf, "body": "Here is the video you asked for."},
        files={"files": too_big},
    )
    assert page.status_code == 413
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-code="file_too_large"' in page.text
    assert "big.mov is 3 MB; each file may be 3 MB at most" in page.text
    assert "Here is the video you asked for.</textarea>" in page.text

    portal_csrf = portal_sign_in(tight_client, outbox)
    before = row_counts(container)  # signing in writes its own rows
    reply = tight_client.post(
        f"/portal/cases/{people}/reply",
        data={"csrf_token": portal_csrf, "body": "My video."},
        files={"files": too_big},
    )
    assert reply.status_code == 413
    assert reply.headers["content-type"].startswith("text/html")
    assert 'data-code="file_too_large"' in reply.text
    assert "My video.</textarea>" in reply.text
    opened = tight_client.post(
        "/portal/cases",
        data={"csrf_token": portal_csrf, "subject": "Broken lamp", "body": "See the video."},
        files={"files": too_big},
    )
    assert opened.status_code == 413
    assert 'data-code="file_too_large"' in opened.text
    assert 'value="Broken lamp"' in opened.text and "See the video.</textarea>" in opened.text
    assert row_counts(container) == before


def test_files_over_the_message_total_or_count_are_a_413_problem_and_nothing_is_stored(
    tight_client: TestClient, container: Container, people: int
) -> None:
    headers = agent_token(container)
    before = row_counts(container)
    url = f"/api/v1/cases/{people}/messages/upload"
    # Each fits alone (2.5 MB of 3), not together (5 MB of 4).
    half = MIB * 5 // 2
    together = tight_client.post(
        url,
        data={"body": "two videos"},
        files=[("files", ("a.mp4", blob(half, 1))), ("files", ("b.mp4", blob(half, 2)))],
        headers=headers,
    )
    assert together.status_code == 413, together.text
    assert together.headers["content-type"] == "application/problem+json"
    assert together.json()["code"] == "attachments_too_large"
    assert together.json()["details"]["limit_message_bytes"] == 4 * MIB

    many = tight_client.post(
        url,
        data={"body": "four photos"},
        files=[("files", (f"{n}.jpg", blob(10, n))) for n in range(4)],
        headers=headers,
    )
    assert many.status_code == 413 and many.json()["code"] == "too_many_attachments"

    one = tight_client.post(url, files={"files": ("big.mov", blob(3 * MIB + 1))}, headers=headers)
    assert one.status_code == 413 and one.json()["code"] == "file_too_large"
    assert one.json()["details"]["filename"] == "big.mov"
    assert row_counts(container) == before

    # The same limits hold for files sent as base64 in JSON (within the JSON body limit).
    json_many = tight_client.post(
        f"/api/v1/cases/{people}/messages",
        json={
            "body": "four",
            "attachments": [
                {"filename": f"{n}.txt", "content_base64": base64.b64encode(b"x").decode()}
                for n in range(4)
            ],
        },
        headers=headers,
    )
    assert json_many.status_code == 413 and json_many.json()["code"] == "too_many_attachments"
    assert row_counts(container) == before


def _open_temp_files() -> int:
    """Files this process holds open in the temporary folder, already unlinked: the spooled
    upload files once they pass their size in memory."""
    where = tempfile.gettempdir()
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(where) and target.endswith("(deleted)")
    return count


def _multipart(client: TestClient, url: str, data: dict[str, str], size: int) -> tuple[bytes, str]:
    request = client.build_request(
        "POST",
        url,
        data=data,
        files={"files": ("huge.bin", blob(size), "application/octet-stream")},
    )
    return request.read(), request.headers["content-type"]


def _chunks(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files by /proc")
def test_a_streamed_upload_past_the_limit_is_refused_without_a_trace(
    tight_client: TestClient, container: Container, outbox: MemoryOutbox, people: int
) -> None:
    # 4 MB of files plus 1 MB of form: a 6 MB body passes the limit; no length is declared.
    headers = agent_token(container)
    url = f"/api/v1/cases/{people}/messages/upload"
    body, content_type = _multipart(tight_client, url, {"body": "huge"}, 6 * MIB)
    before, open_before = row_counts(container), _open_temp_files()

    streamed = tight_client.post(
        url, content=_chunks(body), headers={**headers, "content-type": content_type}
    )
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413, streamed.text
    assert streamed.headers["content-type"] == "application/problem+json"
    assert streamed.json()["code"] == "attachments_too_large"

    declared = tight_client.post(
        url, content=body, headers={**headers, "content-type": content_type}
    )
    assert declared.status_code == 413 and declared.json()["code"] == "attachments_too_large"

    csrf = portal_sign_in(tight_client, outbox)
    before = row_counts(container)
    body, content_type = _multipart(
        tight_client, "/portal/cases", {"csrf_token": csrf, "subject": "s", "body": "b"}, 6 * MIB
    )
    page = tight_client.post(
        "/portal/cases", content=_chunks(body), headers={"content-type": content_type}
    )
    assert page.status_code == 413
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-code="attachments_too_large"' in page.text
    assert TIGHT_PHRASE in page.text
    assert row_counts(container) == before
    assert _open_temp_files() == open_before


def test_json_and_other_forms_keep_the_small_body_limit(
    tight_client: TestClient, container: Container, people: int
) -> None:
    headers = agent_token(container)
    before = row_counts(container)
    encoded = base64.b64encode(blob(MIB)).decode()  # 1.3 MB of JSON, over the 1 MB limit
    as_json = tight_client.post(
        f"/api/v1/cases/{people}/messages",
        json={"body": "photo", "attachments": [{"filename": "p.jpg", "content_base64": encoded}]},
        headers=headers,
    )
    assert as_json.status_code == 413 and as_json.json()["code"] == "payload_too_large"

    # JSON sent to the upload route gets no more room than JSON anywhere else.
    json_to_upload = tight_client.post(
        f"/api/v1/cases/{people}/messages/upload",
        content=b'{"body": "' + b"x" * (2 * MIB) + b'"}',
        headers={**headers, "content-type": "application/json"},
    )
    assert json_to_upload.status_code == 413
    assert json_to_upload.json()["code"] == "payload_too_large"

    # A form that takes no message files (a policy upload) keeps the 1 MB limit, as a page.
    form = tight_client.post(
        "/admin/policy", files={"file": ("policy.yaml", blob(2 * MIB))}, headers=headers
    )
    assert form.status_code == 413
    assert form.headers["content-type"].startswith("text/html")
    assert row_counts(container) == before


def test_the_forms_state_the_limits_the_desk_applies(
    tight_client: TestClient, outbox: MemoryOutbox, people: int
) -> None:
    console_sign_in(tight_client)
    assert TIGHT_PHRASE in tight_client.get(f"/cases/{people}").text
    portal_sign_in(tight_client, outbox)
    assert TIGHT_PHRASE in tight_client.get(f"/portal/cases/{people}").text
    assert TIGHT_PHRASE in tight_client.get("/portal/cases/new").text


def test_a_repeated_upload_with_its_idempotency_key_is_stored_once(
    tight_client: TestClient, container: Container, people: int
) -> None:
    headers = {**agent_token(container), "Idempotency-Key": "upload-1"}
    url = f"/api/v1/cases/{people}/messages/upload"
    photo = {"files": ("p.jpg", blob(2 * MIB, 7), "image/jpeg")}
    first = tight_client.post(url, data={"body": "photo"}, files=photo, headers=headers)
    again = tight_client.post(url, data={"body": "photo"}, files=photo, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = tight_client.post(
        url, data={"body": "photo"}, files={"files": ("p.jpg", blob(2 * MIB, 8))}, headers=headers
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert attachments_of(container, people) == [("p.jpg", 2 * MIB)]
