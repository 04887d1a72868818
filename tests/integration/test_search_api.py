"""Hybrid search through the API: articles, macros and solved cases; embeddings computed in
the background and stored, never per query; bad queries; a desk without its model."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from caredesk.adapters import vector_index
from caredesk.adapters.vector_index import InMemoryVectorIndex
from caredesk.bootstrap import Container, bootstrap
from caredesk.domain.agents import SYSTEM, Actor, Role
from caredesk.domain.search import IndexedText, SearchKind, SearchMode
from caredesk.services.access import auth
from caredesk.services.knowledge import search
from caredesk.services.knowledge.search import Semantic
from caredesk.settings import Settings
from caredesk.web.app import create_app
from tests.conftest import ManualClock, _empty
from tests.integration.conftest import CUSTOMER, Headers
from tests.integration.knowledge_fixtures import (
    CountingEmbedder,
    create_article,
    problem,
    wait_until,
)

Search = dict[str, Any]


@pytest.fixture(autouse=True)
def _rough_pass_from_the_first_vector(monkeypatch: pytest.MonkeyPatch) -> None:
    """The desks here find semantic candidates as a large index does, through the quantized
    copy (the default `vector_search`) and the exact re-rank, though they hold few texts."""
    monkeypatch.setattr(vector_index, "QUANTIZE_FROM", 1)


def _search(client: TestClient, headers: Headers, q: str, **params: Any) -> Search:
    response = client.get("/api/v1/search", params={"q": q, **params}, headers=headers)
    assert response.status_code == 200, response.text
    body: Search = response.json()
    return body


def _embed_all(container: Container) -> None:
    assert container.semantic is not None
    search.embed_pending(container.uow, container.semantic.embedder, container.clock.now)


def _solved_case(
    client: TestClient, headers: Headers, customer: dict[str, Any], subject: str, body: str
) -> dict[str, Any]:
    created = client.post(
        "/api/v1/cases",
        json={"customer_id": customer["id"], "subject": subject, "body": body},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    case: dict[str, Any] = created.json()
    solved = client.post(
        f"/api/v1/cases/{case['id']}/status",
        json={"status": "solved", "version": case["version"]},
        headers=headers,
    )
    assert solved.status_code == 200, solved.text
    return case


@pytest.fixture
def corpus(
    client: TestClient, agent: Headers, editor: Headers, customer: dict[str, Any]
) -> dict[str, Any]:
    # Public articles and macros are published by an editor; agents write the rest.
    published = {"status": "published"}
    refunds = create_article(
        client,
        editor,
        title="Refund timing",
        body="Money goes back to the original card within five working days.",
        visibility="public",
        **published,
    )
    passwords = create_article(
        client,
        editor,
        title="Resetting a forgotten password",
        body="Use the sign-in page's reset link; it expires after an hour.",
        visibility="public",
        **published,
    )
    escalation = create_article(
        client,
        agent,
        title="Escalating a refund dispute",
        body="Internal only: disputes over 500 go to the payments lead.",
        **published,
    )
    create_article(client, agent, title="Refund policy draft", body="Not yet.")
    macro = create_article(
        client,
        editor,
        kind="macro",
        title="Refund confirmation reply",
        body="Hi {{ first_name }}, your refund is on its way.",
        **published,
    )
    solved = _solved_case(
        client,
        agent,
        customer,
        "Refund for a broken kettle",
        "The kettle leaks, I'd like a refund please.",
    )
    client.post(
        "/api/v1/cases",
        json={"customer_id": customer["id"], "subject": "Refund open case", "body": "refund?"},
        headers=agent,
    )
    return {
        "refunds": refunds,
        "passwords": passwords,
        "escalation": escalation,
        "macro": macro,
        "case": solved,
    }


@pytest.mark.semantic
def test_hybrid_search_over_articles_macros_and_solved_cases(
    client: TestClient, agent: Headers, container: Container, corpus: dict[str, Any]
) -> None:
    _embed_all(container)
    found = _search(client, agent, "refund")
    assert found["mode"] == "hybrid" and found["semantic_available"] is True
    assert container.semantic is not None
    index = container.semantic.index
    assert isinstance(index, InMemoryVectorIndex) and index.quantized_builds == 1
    kinds = {(item["kind"], item["id"]) for item in found["items"]}
    assert ("article", str(corpus["refunds"]["id"])) in kinds
    assert ("article", str(corpus["escalation"]["id"])) in kinds
    assert ("macro", str(corpus["macro"]["id"])) in kinds
    assert ("case", str(corpus["case"]["id"])) in kinds
    # Drafts and unsolved cases are not searchable.
    titles = {item["title"] for item in found["items"]}
    assert "Refund policy draft" not in titles and "Refund open case" not in titles
    scores = [item["score"] for item in found["items"]]
    assert scores == sorted(scores, reverse=True)
    macro = next(i for i in found["items"] if i["kind"] == "macro")
    assert macro["url"] == f"/api/v1/articles/{corpus['macro']['id']}"

    only = _search(client, agent, "refund", kind="case")
    assert [(i["kind"], i["id"]) for i in only["items"]] == [("case", str(corpus["case"]["id"]))]
    assert only["items"][0]["url"] == f"/api/v1/cases/{corpus['case']['id']}"
    both = _search(client, agent, "refund", kind=["macro", "case"])
    assert {i["kind"] for i in both["items"]} == {"macro", "case"}


@pytest.mark.semantic
def test_fusion_finds_what_either_ranking_alone_finds(
    client: TestClient, agent: Headers, container: Container, corpus: dict[str, Any]
) -> None:
    _embed_all(container)
    refunds = str(corpus["refunds"]["id"])
    passwords = str(corpus["passwords"]["id"])
    # No word in common with the article: only the meaning finds it.
    query = "I can't log in, how do I change my login secret?"
    lexical = _search(client, agent, query, mode="lexical", kind="article")
    semantic = _search(client, agent, query, mode="semantic", kind="article")
    hybrid = _search(client, agent, query, kind="article")
    assert passwords not in [i["id"] for i in lexical["items"]]
    assert semantic["items"][0]["id"] == passwords
    assert hybrid["items"][0]["id"] == passwords
    assert hybrid["items"][0]["semantic_rank"] == 1
    assert hybrid["items"][0]["lexical_rank"] is None

    # A rare exact word: lexical ranks it first and fusion keeps it there.
    exact = _search(client, agent, "original card working days", kind="article")
    assert exact["items"][0]["id"] == refunds
    assert exact["items"][0]["lexical_rank"] == 1 and exact["items"][0]["semantic_rank"]


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced quote',
        "refund OR password NEAR(x y)",
        "title:refund AND -card*",
        "'; DROP TABLE search_entries; --",
        "100% \\ back/slash ^ ~ ( ) { } [ ] < > & |",
        "émoji 🎉 日本語 ñ",
        "_",
        "???",
    ],
)
def test_odd_characters_are_plain_words(
    client: TestClient, agent: Headers, corpus: dict[str, Any], query: str
) -> None:
    found = _search(client, agent, query, mode="lexical")
    assert isinstance(found["items"], list)
    assert _search(client, agent, query)["mode"] in ("hybrid", "lexical")


def test_long_queries_work_and_enormous_ones_are_refused(
    client: TestClient, agent: Headers, corpus: dict[str, Any]
) -> None:
    long_message = ("My refund has not arrived on my card. " * 200)[:9_000]
    found = _search(client, agent, long_message)
    assert found["items"]
    problem(
        client.get("/api/v1/search", params={"q": "x" * 10_001}, headers=agent),
        422,
        "validation_error",
    )


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "   "},
        {"q": "refund", "kind": "ticket"},
        {"q": "refund", "mode": "magic"},
        {"q": "refund", "limit": 0},
        {"q": "refund", "limit": 51},
    ],
)
def test_bad_search_requests_get_a_clear_4xx(
    client: TestClient, agent: Headers, params: dict[str, Any]
) -> None:
    response = client.get("/api/v1/search", params=params, headers=agent)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"


@pytest.mark.semantic
def test_customers_find_public_articles_only(
    client: TestClient,
    editor: Headers,
    container: Container,
    corpus: dict[str, Any],
    customer: dict[str, Any],
    clock: ManualClock,
) -> None:
    _embed_all(container)
    as_customer = Actor(role=Role.VIEWER, customer_id=customer["id"])
    public_ids = {str(corpus["refunds"]["id"]), str(corpus["passwords"]["id"])}
    for mode in SearchMode:
        result = search.search(
            container.uow(), as_customer, "refund dispute", mode=mode, semantic=container.semantic
        )
        assert result.hits, mode
        assert {h.ref_id for h in result.hits} <= public_ids, mode
        assert {h.kind for h in result.hits} == {SearchKind.ARTICLE}

    # Made internal later: its stored vectors must not show it to customers any more.
    refunds = corpus["refunds"]
    clock.advance(minutes=1)
    changed = client.patch(
        f"/api/v1/articles/{refunds['id']}",
        json={"version": refunds["version"], "visibility": "internal"},
        headers=editor,
    )
    assert changed.status_code == 200, changed.text
    for mode in (SearchMode.SEMANTIC, SearchMode.HYBRID, SearchMode.LEXICAL):
        result = search.search(
            container.uow(),
            as_customer,
            "refund money back",
            mode=mode,
            semantic=container.semantic,
        )
        assert str(refunds["id"]) not in {h.ref_id for h in result.hits}, mode
    # And back to public: customers find it again by meaning alone.
    clock.advance(minutes=1)
    client.patch(
        f"/api/v1/articles/{refunds['id']}",
        json={"version": refunds["version"] + 1, "visibility": "public"},
        headers=editor,
    )
    result = search.search(
        container.uow(),
        as_customer,
        "when is my money returned",
        mode=SearchMode.SEMANTIC,
        semantic=container.semantic,
    )
    assert str(refunds["id"]) in {h.ref_id for h in result.hits}


# Embeddings: computed in the background after a change, stored, never per query.


@pytest.fixture
def counting(container: Container) -> Iterator[tuple[TestClient, CountingEmbedder]]:
    fake = CountingEmbedder()
    if container.embed_worker is not None:  # started by another client with the real model
        container.embed_worker.stop()
        container.embed_worker = None
    container.semantic = Semantic(fake, InMemoryVectorIndex(fake.dimensions))
    # No polling within a test: only the wake-up after each change can get texts embedded.
    container.settings = container.settings.model_copy(update={"embed_poll_seconds": 3600})
    with TestClient(create_app(container=container)) as test_client:
        yield test_client, fake


def _all_embedded(container: Container) -> bool:
    with container.uow() as uow:
        state = uow.search.state()
    return state.pending == 0 and state.embedded == state.entries > 0


def test_embeddings_are_made_in_the_background_and_never_per_query(
    counting: tuple[TestClient, CountingEmbedder],
    agent: Headers,
    container: Container,
    customer: dict[str, Any],
    clock: ManualClock,
) -> None:
    client, fake = counting
    article = create_article(
        client, agent, title="Refund timing", body="Five working days.", status="published"
    )
    assert wait_until(lambda: _all_embedded(container))
    assert fake.texts == ["Refund timing. Five working days."]

    _solved_case(client, agent, customer, "Kettle refund", "It leaks.")
    assert wait_until(lambda: _all_embedded(container))
    stored = list(fake.texts)
    assert len(stored) == 2 and stored[1].startswith("Kettle refund. It leaks.")

    for query in ("refund", "how long does a refund take", "kettle"):
        found = _search(client, agent, query)
        assert found["mode"] == "hybrid" and found["items"]
    # Each query embeds the query itself and nothing else.
    assert fake.calls[2:] == [["refund"], ["how long does a refund take"], ["kettle"]]

    # A changed text is embedded again, once; a change that keeps the text is not.
    clock.advance(minutes=1)
    url = f"/api/v1/articles/{article['id']}"
    client.patch(url, json={"version": 1, "body": "Three working days."}, headers=agent)
    assert wait_until(lambda: _all_embedded(container))
    client.patch(url, json={"version": 2, "tags": ["refunds"]}, headers=agent)
    # A case solved by an edit (not the status endpoint) is embedded too.
    solved_by_patch = client.post(
        "/api/v1/cases",
        json={"customer_id": customer["id"], "subject": "Lost parcel", "body": "Never came."},
        headers=agent,
    ).json()
    patched = client.patch(
        f"/api/v1/cases/{solved_by_patch['id']}",
        json={"status": "solved", "version": solved_by_patch["version"]},
        headers=agent,
    )
    assert patched.status_code == 200, patched.text
    assert wait_until(lambda: _all_embedded(container))
    client.get("/api/v1/search", params={"q": "refund"}, headers=agent)
    embedded_docs = [t for t in fake.texts if ". " in t]
    assert embedded_docs == [
        *stored,
        "Refund timing. Three working days.",
        "Lost parcel. Never came.",
    ]
    with container.uow() as uow:
        assert uow.search.state().pending == 0


# A desk whose model is missing or corrupt starts, says why, and searches lexically.


@pytest.fixture(params=["missing", "corrupt"])
def broken_model(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / "model"
    path.mkdir()
    if request.param == "corrupt":
        (path / "config.json").write_text("{not json")
        (path / "tokenizer.json").write_text("garbage")
        (path / "model.safetensors").write_bytes(b"\x00" * 64)
    return path


@pytest.fixture
def modelless(
    migrated_engine: Engine,
    database_url: str,
    clock: ManualClock,
    broken_model: Path,
    caplog: pytest.LogCaptureFixture,
) -> Iterator[Container]:
    _empty(migrated_engine)
    settings = Settings(
        database_url=database_url,
        log_json=True,
        log_level="warning",
        embedding_model_path=broken_model,
        embedded_worker=False,
    )
    with caplog.at_level(logging.ERROR, logger="caredesk"):
        built = bootstrap(settings, clock=clock)
    yield built
    built.close()


def test_a_missing_or_corrupt_model_is_reported_and_lexical_search_works(
    modelless: Container,
    broken_model: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert modelless.semantic is None
    assert modelless.semantic_error is not None
    assert str(broken_model) in modelless.semantic_error
    assert "CAREDESK_EMBEDDING_MODEL_PATH" in modelless.semantic_error
    # Said once, clearly, when the desk starts.
    assert any(str(broken_model) in r.getMessage() for r in caplog.get_records("setup"))
    with TestClient(create_app(container=modelless)) as client:
        issued = auth.create_token(
            modelless.uow(), SYSTEM, modelless.clock.now(), name="t", role=Role.AGENT
        )
        agent = {"Authorization": f"Bearer {issued.secret}"}
        create_article(client, agent, title="Refund timing", body="Five days.", status="published")
        found = _search(client, agent, "refund")
        assert found["mode"] == "lexical" and found["semantic_available"] is False
        assert [i["title"] for i in found["items"]] == ["Refund timing"]
        problem(
            client.get("/api/v1/search", params={"q": "refund", "mode": "semantic"}, headers=agent),
            503,
            "search_unavailable",
        )
        # Triage runs on without the model: no intent, the rest as usual.
        customer = client.post("/api/v1/customers", json=CUSTOMER, headers=agent).json()
        case = client.post(
            "/api/v1/cases",
            json={"customer_id": customer["id"], "subject": "Refund", "body": "I'll sue you!"},
            headers=agent,
        )
        assert case.status_code == 201, case.text
        assert "public-risk" in case.json()["tags"]


@pytest.mark.semantic
@pytest.mark.parametrize(("vector_search", "copies"), [("sq8", 1), ("fp16", 1), ("exact", 0)])
def test_the_setting_chooses_how_semantic_candidates_are_found(
    migrated_engine: Engine,
    database_url: str,
    clock: ManualClock,
    vector_search: Literal["sq8", "fp16", "exact"],
    copies: int,
) -> None:
    _empty(migrated_engine)
    settings = Settings(
        database_url=database_url,
        log_json=True,
        log_level="warning",
        embedded_worker=False,
        vector_search=vector_search,
    )
    desk = bootstrap(settings, clock=clock)
    try:
        with desk.uow() as uow:
            for number, body in enumerate(["refund to the card", "reset your password"]):
                uow.search.upsert(
                    IndexedText(SearchKind.ARTICLE, str(number), f"Article {number}", body),
                    clock.now(),
                )
            uow.commit()
        _embed_all(desk)
        found = search.search(
            desk.uow(),
            SYSTEM,
            "I forgot my login",
            mode=SearchMode.SEMANTIC,
            semantic=desk.semantic,
        )
        assert [hit.ref_id for hit in found.hits] == ["1", "0"]
        assert desk.semantic is not None
        index = desk.semantic.index
        assert isinstance(index, InMemoryVectorIndex) and index.quantized_builds == copies
    finally:
        desk.close()
