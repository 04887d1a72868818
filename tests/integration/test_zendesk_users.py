"""/api/v2 users: customers and agents under one user id each, shown, listed in both paging
styles, searched, created, and exported incrementally."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.services.cases import customers
from tests.conftest import ManualClock
from tests.integration.statements import statements_sent, writes
from tests.integration.test_zendesk_foundation import _agent, _refusal, _secret

Headers = dict[str, str]


def _customer(container: Container, name: str, email: str, customer_id: str | None = None) -> str:
    first, _, last = name.partition(" ")
    made = customers.create_customer(
        container.uow(),
        SYSTEM,
        container.clock.now(),
        first_name=first,
        last_name=last,
        emails=[email],
        customer_id=customer_id,
    )
    return made.id


def _walk(client: TestClient, headers: Headers, params: dict[str, Any]) -> list[str]:
    page = client.get("/api/v2/users.json", params=params, headers=headers).json()
    seen: list[str] = []
    while True:
        seen += [u["email"] for u in page["users"]]
        if not page["meta"]["has_more"]:
            return seen
        page = client.get(page["links"]["next"], headers=headers).json()


def _people(container: Container) -> tuple[str, str, int]:
    _customer(container, "Ada Lovelace", "ada@example.com", "cus_ada")
    _customer(container, "Alan Turing", "alan@example.com")
    agent_id = _agent(container, "zoe@caredesk.example")
    return "ada@example.com", "alan@example.com", agent_id


def test_the_list_pages_customers_and_agents_together_by_cursor_and_by_offset(
    client: TestClient, container: Container, viewer: Headers
) -> None:
    _people(container)
    everyone = _walk(client, viewer, {"page[size]": 2})
    assert sorted(everyone) == ["ada@example.com", "alan@example.com", "zoe@caredesk.example"]
    # Numbered once, the order is the user ids' and stays: a second walk sees the same.
    assert _walk(client, viewer, {"page[size]": 1}) == everyone

    first = client.get("/api/v2/users.json", params={"per_page": 2}, headers=viewer).json()
    assert [u["email"] for u in first["users"]] == everyone[:2] and first["count"] == 3
    second = client.get(first["next_page"], headers=viewer).json()
    assert [u["email"] for u in second["users"]] == everyone[2:]
    assert second["next_page"] is None

    bad = client.get("/api/v2/users.json", params={"page[after]": "x"}, headers=viewer)
    _refusal(bad, 400, "InvalidValue")
    deep = client.get("/api/v2/users.json", params={"page": 101}, headers=viewer)
    _refusal(deep, 400, "InvalidValue")


def test_the_list_filters_by_role(client: TestClient, container: Container, agent: Headers) -> None:
    _people(container)
    _agent(container, "boss@caredesk.example", Role.ADMIN)

    def roles(**params: Any) -> list[tuple[str, str]]:
        body = client.get("/api/v2/users.json", params=params, headers=agent).json()
        return sorted((u["role"], u["email"]) for u in body["users"])

    assert roles(role="end-user") == [
        ("end-user", "ada@example.com"),
        ("end-user", "alan@example.com"),
    ]
    assert roles(role="agent") == [("agent", "zoe@caredesk.example")]
    assert roles(role="admin") == [("admin", "boss@caredesk.example")]
    assert [r for r, _ in roles(**{"role[]": ["agent", "admin"]})] == ["admin", "agent"]
    wrong = client.get("/api/v2/users.json", params={"role": "owner"}, headers=agent)
    assert "role" in _refusal(wrong, 422, "RecordInvalid")["details"]


def test_numbering_everyone_costs_one_read_once_everyone_has_an_id(
    client: TestClient, container: Container, agent: Headers
) -> None:
    _people(container)
    assert client.get("/api/v2/users.json", headers=agent).status_code == 200
    with container.uow.read_only() as uow:
        assert uow.zendesk_users.unnumbered() is False
    _customer(container, "Grace Hopper", "grace@example.com")
    with container.uow.read_only() as uow:
        assert uow.zendesk_users.unnumbered() is True
    listed = client.get("/api/v2/users.json", headers=agent).json()
    assert len(listed["users"]) == 4 and listed["count"] == 4


def test_a_list_costs_the_same_statements_however_many_users_it_numbers_or_shows(
    client: TestClient, container: Container, agent: Headers
) -> None:
    def listed() -> list[str]:
        with statements_sent(container.engine) as sent:
            response = client.get("/api/v2/users.json", params={"page[size]": 50}, headers=agent)
        assert response.status_code == 200, response.text
        return sent

    for n in range(3):
        _customer(container, f"Person {n}", f"p{n}@example.com")
    _agent(container, "zoe@caredesk.example")
    numbering = listed()
    # Everyone lacking an id is numbered by two INSERT ... SELECT, one for customers, one
    # for agents, whatever their number.
    assert [w.split(" ")[0] for w in writes(numbering) if "zendesk_users" in w] == [
        "INSERT",
        "INSERT",
    ]
    settled = listed()
    assert not [w for w in writes(settled) if "zendesk_users" in w]
    for n in range(3, 9):
        _customer(container, f"Person {n}", f"p{n}@example.com")
    listed()
    assert len(listed()) == len(settled)


def test_a_user_is_shown_by_id_and_many_by_ids_or_external_ids(
    client: TestClient, container: Container, agent: Headers
) -> None:
    _people(container)
    users = client.get("/api/v2/users.json", headers=agent).json()["users"]
    by_email = {u["email"]: u for u in users}
    ada = by_email["ada@example.com"]
    assert (ada["role"], ada["external_id"], ada["name"]) == ("end-user", "cus_ada", "Ada Lovelace")

    one = client.get(f"/api/v2/users/{ada['id']}.json", headers=agent).json()["user"]
    assert one == ada
    zoe = by_email["zoe@caredesk.example"]
    ids = f"{zoe['id']},999999,{ada['id']}"
    many = client.get("/api/v2/users/show_many.json", params={"ids": ids}, headers=agent)
    assert [u["id"] for u in many.json()["users"]] == [zoe["id"], ada["id"]]
    by_external = client.get(
        "/api/v2/users/show_many.json", params={"external_ids": "cus_ada,nobody"}, headers=agent
    )
    assert [u["id"] for u in by_external.json()["users"]] == [ada["id"]]
    bad = client.get("/api/v2/users/show_many.json", params={"ids": "1,x"}, headers=agent)
    _refusal(bad, 422, "RecordInvalid")
    for missing in (999999, 2**70):
        _refusal(client.get(f"/api/v2/users/{missing}.json", headers=agent), 404, "RecordNotFound")


def test_search_finds_by_text_by_email_and_by_external_id(
    client: TestClient, container: Container, agent: Headers
) -> None:
    _people(container)

    def emails(**params: str) -> list[str]:
        body = client.get("/api/v2/users/search.json", params=params, headers=agent).json()
        assert body["count"] == len(body["users"])
        return sorted(u["email"] for u in body["users"])

    assert emails(query="lovelace") == ["ada@example.com"]
    assert emails(query="al") == ["alan@example.com"]
    assert emails(query="zoe") == ["zoe@caredesk.example"]
    assert emails(query="email:ADA@example.com") == ["ada@example.com"]
    assert emails(query="email:zoe@caredesk.example") == ["zoe@caredesk.example"]
    assert emails(external_id="cus_ada") == ["ada@example.com"]
    assert emails(query="nobody-at-all") == []


def test_creating_an_end_user_makes_a_customer(
    client: TestClient, container: Container, agent: Headers
) -> None:
    sent = {"name": "Mary Shelley", "email": "Mary@Example.com", "phone": "+44 1", "tags": ["vip"]}
    response = client.post("/api/v2/users.json", json={"user": sent}, headers=agent)
    assert response.status_code == 201, response.text
    user = response.json()["user"]
    assert (user["role"], user["email"], user["phone"]) == ("end-user", "mary@example.com", "+44 1")
    stored = customers.get_customer(container.uow.read_only(), SYSTEM, user["external_id"])
    assert (stored.first_name, stored.last_name) == ("Mary", "Shelley")
    again = client.get(f"/api/v2/users/{user['id']}.json", headers=agent).json()["user"]
    assert again["id"] == user["id"]

    chosen = {"name": "Percy", "email": "percy@example.com", "external_id": "ext-7"}
    made = client.post("/api/v2/users.json", json={"user": chosen}, headers=agent).json()["user"]
    assert made["external_id"] == "ext-7"


def test_creating_a_user_refuses_bad_and_taken_emails(
    client: TestClient, container: Container, agent: Headers
) -> None:
    _people(container)
    for email in ("ada@example.com", "ZOE@caredesk.example"):
        sent = {"user": {"name": "Someone", "email": email}}
        body = _refusal(
            client.post("/api/v2/users.json", json=sent, headers=agent), 422, "RecordInvalid"
        )
        assert body["details"]["email"][0]["description"] == "is already being used by another user"
    bad = {"user": {"name": "Someone", "email": "not-an-address"}}
    body = _refusal(
        client.post("/api/v2/users.json", json=bad, headers=agent), 422, "RecordInvalid"
    )
    assert "email" in body["details"]
    reused = {"user": {"name": "Someone", "email": "new@example.com", "external_id": "cus_ada"}}
    body = _refusal(
        client.post("/api/v2/users.json", json=reused, headers=agent), 422, "RecordInvalid"
    )
    assert "external_id" in body["details"]
    nameless = {"user": {"email": "x@example.com"}}
    _refusal(client.post("/api/v2/users.json", json=nameless, headers=agent), 422, "RecordInvalid")


def test_only_an_admin_creates_agents_and_a_viewer_creates_nobody(
    client: TestClient, container: Container, admin: Headers, agent: Headers, viewer: Headers
) -> None:
    staff = {"user": {"name": "Nia Lead", "email": "nia@caredesk.example", "role": "agent"}}
    _refusal(client.post("/api/v2/users.json", json=staff, headers=agent), 403, "Forbidden")
    made = client.post("/api/v2/users.json", json=staff, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["user"]["role"] == "agent"
    boss = {"user": {"name": "Ola", "email": "ola@caredesk.example", "role": "admin"}}
    assert (
        client.post("/api/v2/users.json", json=boss, headers=admin).json()["user"]["role"]
        == "admin"
    )

    end_user = {"user": {"name": "Vic", "email": "vic@example.com"}}
    _refusal(client.post("/api/v2/users.json", json=end_user, headers=viewer), 403, "Forbidden")
    assert client.get("/api/v2/users.json", headers=viewer).status_code == 200


def test_a_customer_bound_token_reads_no_user(client: TestClient, container: Container) -> None:
    customer_id = _customer(container, "Ada Lovelace", "ada@example.com")
    bound = {"Authorization": f"Bearer {_secret(container, None, customer_id=customer_id)}"}
    _refusal(client.get("/api/v2/users.json", headers=bound), 403, "Forbidden")


def test_create_or_update_matches_by_external_id_then_email(
    client: TestClient, container: Container, agent: Headers
) -> None:
    _people(container)
    url = "/api/v2/users/create_or_update.json"
    renamed = {"user": {"name": "Ada King", "email": "ada@example.com", "external_id": "cus_ada"}}
    first = client.post(url, json=renamed, headers=agent)
    assert first.status_code == 200, first.text
    assert first.json()["user"]["name"] == "Ada King"

    by_email = {"user": {"name": "Alan M. Turing", "email": "alan@example.com", "phone": "+1 2"}}
    second = client.post(url, json=by_email, headers=agent)
    assert second.status_code == 200 and second.json()["user"]["phone"] == "+1 2"

    moved = {"user": {"name": "Ada", "email": "countess@example.com", "external_id": "cus_ada"}}
    third = client.post(url, json=moved, headers=agent).json()["user"]
    assert third["email"] == "countess@example.com" and third["id"] == first.json()["user"]["id"]
    stored = customers.get_customer(container.uow.read_only(), SYSTEM, "cus_ada")
    assert stored.emails == ["countess@example.com", "ada@example.com"]

    fresh = {"user": {"name": "New Person", "email": "new@example.com"}}
    assert client.post(url, json=fresh, headers=agent).status_code == 201
    staff = {"user": {"name": "Zoe", "email": "zoe@caredesk.example"}}
    _refusal(client.post(url, json=staff, headers=agent), 422, "RecordInvalid")


def _export(client: TestClient, headers: Headers, url: str, **params: Any) -> dict[str, Any]:
    response = client.get(url, params=params or None, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_incremental_export_runs_to_the_end_and_an_update_moves_a_user_last(
    client: TestClient, container: Container, clock: ManualClock, agent: Headers
) -> None:
    start = clock.now()
    for n in range(3):
        _customer(container, f"Person {n}", f"p{n}@example.com", f"cus_{n}")
        clock.advance(minutes=1)
    url = "/api/v2/incremental/users/cursor.json"
    page = _export(client, agent, url, start_time=int(start.timestamp()), per_page=2)
    seen = [u["email"] for u in page["users"]]
    assert page["end_of_stream"] is False and page["before_cursor"] is None
    while not page["end_of_stream"]:
        page = _export(client, agent, page["after_url"])
        seen += [u["email"] for u in page["users"]]
    assert seen == ["p0@example.com", "p1@example.com", "p2@example.com"]

    clock.advance(minutes=1)
    current = customers.get_customer(container.uow.read_only(), SYSTEM, "cus_0")
    customers.update_customer(
        container.uow(),
        SYSTEM,
        clock.now(),
        "cus_0",
        expected_version=current.version,
        changes={"first_name": "Changed"},
    )
    later = _export(client, agent, url, cursor=page["after_cursor"])
    assert [u["name"] for u in later["users"]] == ["Changed 0"] and later["end_of_stream"]
    quiet = _export(client, agent, url, cursor=later["after_cursor"])
    assert quiet["users"] == [] and quiet["after_cursor"] == later["after_cursor"]

    everything = _export(client, agent, url, start_time=0)
    assert [u["email"] for u in everything["users"]][-1] == "p0@example.com"


def test_the_incremental_export_refuses_a_future_start_and_a_foreign_cursor(
    client: TestClient, clock: ManualClock, agent: Headers
) -> None:
    url = "/api/v2/incremental/users/cursor.json"
    future = int((clock.now() + timedelta(hours=1)).timestamp())
    body = _refusal(
        client.get(url, params={"start_time": future}, headers=agent), 422, "RecordInvalid"
    )
    assert body["details"]["start_time"][0]["description"] == "start_time is too recent"
    for garbage in ("nonsense", "W10", "WyJ4IiwxXQ"):
        _refusal(client.get(url, params={"cursor": garbage}, headers=agent), 400, "InvalidValue")
    _refusal(client.get(url, headers=agent), 422, "RecordInvalid")


def test_the_time_based_export_pages_by_the_second_the_last_user_changed(
    client: TestClient, container: Container, clock: ManualClock, agent: Headers
) -> None:
    start = int(clock.now().timestamp())
    for n in range(3):
        _customer(container, f"Person {n}", f"p{n}@example.com", f"cus_{n}")
        clock.advance(minutes=1)
    url = "/api/v2/incremental/users.json"
    page = _export(client, agent, url, start_time=start, per_page=2)
    assert [u["email"] for u in page["users"]] == ["p0@example.com", "p1@example.com"]
    assert (page["count"], page["end_time"], page["end_of_stream"]) == (2, start + 60, False)
    # The next page starts at that second: the user changed then comes again.
    rest = _export(client, agent, page["next_page"])
    assert [u["email"] for u in rest["users"]] == ["p1@example.com", "p2@example.com"]
    end = _export(client, agent, rest["next_page"])
    assert [u["email"] for u in end["users"]] == ["p2@example.com"] and end["end_of_stream"]
    future = int((clock.now() + timedelta(hours=1)).timestamp())
    for params in ({"start_time": future}, {}, {"start_time": 0, "per_page": 1001}):
        _refusal(client.get(url, params=params, headers=agent), 422, "RecordInvalid")
