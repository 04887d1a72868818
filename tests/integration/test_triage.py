"""Triage on every new case and inbound message: intent from the desk's own labels, sentiment,
public risk, moments, routing rules as data (each match audited), and corrections as labels."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from caredesk.adapters.embeddings import shared_embedder
from caredesk.adapters.intent import METHOD_HEAD, EncoderIntentTrainer, TrainingPlan
from caredesk.bootstrap import Container
from caredesk.cli.main import app
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed
from caredesk.domain.intents import IntentModelInfo
from caredesk.services.core.jobs import Worker
from caredesk.services.knowledge import triage
from tests.integration.conftest import Headers
from tests.integration.knowledge_fixtures import audit_actions, problem

pytestmark = pytest.mark.semantic

# A handful of labels per intent: what a desk has in its first week.
EXAMPLES = [
    ("Where is my parcel? It has not arrived yet", "where_is_my_order"),
    ("My order still hasn't been delivered", "where_is_my_order"),
    ("Tracking says nothing since Monday, where is the package?", "where_is_my_order"),
    ("When will my delivery arrive?", "where_is_my_order"),
    ("I want my money back for this", "refund"),
    ("Please refund my payment", "refund"),
    ("Can I get a refund for the broken kettle?", "refund"),
    ("I returned it, where is my refund?", "refund"),
    ("I forgot my password and cannot log in", "account_access"),
    ("The sign-in page says my password is wrong", "account_access"),
    ("How do I reset my login?", "account_access"),
    ("I'm locked out of my account", "account_access"),
]
# Fast enough for a test: a softmax head on the frozen encoder.
QUICK = TrainingPlan(method=METHOD_HEAD, top_layers=0, target_steps=30, max_epochs=30)


@pytest.fixture
def lead(token_for: Any) -> Headers:
    headers: Headers = token_for(Role.LEAD)
    return headers


@pytest.fixture
def trained(container: Container) -> IntentModelInfo:
    now = container.clock.now()
    triage.add_labels(container.uow(), SYSTEM, now, EXAMPLES)
    trainer = EncoderIntentTrainer(shared_embedder(), QUICK)
    info = triage.train_intent_model(container.uow, trainer, SYSTEM, now)
    assert info is not None
    return info


@pytest.fixture
def work_off(container: Container) -> Callable[[], int]:
    """Runs the jobs queued so far, as the worker does right after a request commits."""
    worker = Worker(
        container.job_context(),
        container.jobs,
        name="test-worker",
        options=container.worker_options,
    )

    def run() -> int:
        ran = 0
        while done := worker.run_once():
            ran += done
        return ran

    return run


def _case(
    client: TestClient, headers: Headers, customer: dict[str, Any], body: str, subject: str = "Hi"
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/cases",
        json={"customer_id": customer["id"], "subject": subject, "body": body},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    case: dict[str, Any] = response.json()
    return case


def _triage(client: TestClient, headers: Headers, case_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/cases/{case_id}/triage", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_new_case_is_triaged_and_stored_with_confidences(
    client: TestClient,
    agent: Headers,
    customer: dict[str, Any],
    trained: IntentModelInfo,
    work_off: Callable[[], int],
) -> None:
    opened = _case(
        client,
        agent,
        customer,
        "This is awful. My parcel still has not arrived and our baby was born last week. "
        "I will leave a one-star review on Trustpilot if it's not here tomorrow.",
        subject="Where is my order?",
    )
    # The request answers without waiting for the model: risk and moments are read at once,
    # the intent by the worker right after the commit.
    assert "issue_type" not in opened["custom_fields"]
    assert opened["custom_fields"]["public_risk"] is True
    assert _triage(client, agent, opened["id"])["intent_source"] == "none"
    assert work_off() == 1
    case = client.get(f"/api/v1/cases/{opened['id']}", headers=agent).json()
    result = _triage(client, agent, case["id"])
    assert result["intent"] == "where_is_my_order"
    assert result["intent_source"] == "model"
    assert result["model_version"] == trained.version
    assert 1 / 3 < result["intent_confidence"] <= 1
    assert result["sentiment"] < 0
    assert result["public_risk"] is True and "review" in result["risk_signals"]
    assert result["public_risk_confidence"] >= 0.7
    assert result["moments"] == ["new_baby"]
    assert result["language"] == "en"

    # What the planner reads: custom fields and tags on the case itself.
    fields = case["custom_fields"]
    assert fields["issue_type"] == "where_is_my_order"
    assert fields["issue_type_confidence"] == result["intent_confidence"]
    assert fields["public_risk"] is True and fields["moments"] == "new_baby"
    assert {"public-risk", "moment:new_baby"} <= set(case["tags"])


def test_every_inbound_message_triages_again(
    client: TestClient,
    agent: Headers,
    customer: dict[str, Any],
    trained: IntentModelInfo,
    work_off: Callable[[], int],
) -> None:
    case = _case(client, agent, customer, "How do I reset my password?")
    work_off()
    first = _triage(client, agent, case["id"])
    assert first["intent"] == "account_access" and first["public_risk"] is False
    assert first["sentiment"] >= 0 and first["moments"] == []

    url = f"/api/v1/cases/{case['id']}/messages"
    reply = client.post(url, json={"kind": "outbound", "body": "My condolences"}, headers=agent)
    assert reply.status_code == 201
    unchanged = _triage(client, agent, case["id"])
    assert unchanged["moments"] == [] and unchanged == first  # a reply is not triaged

    inbound = client.post(
        url,
        json={
            "kind": "inbound",
            "body": "I am furious. My mother passed away and I need her account closed. "
            "I want my money back or I will call my lawyer.",
        },
        headers=agent,
    )
    assert inbound.status_code == 201, inbound.text
    before_the_worker = _triage(client, agent, case["id"])
    # Until the worker reads the new words, the case keeps the intent read before.
    assert before_the_worker["intent"] == "account_access"
    assert before_the_worker["moments"] == ["bereavement"]
    work_off()
    again = _triage(client, agent, case["id"])
    assert again["moments"] == ["bereavement"]
    assert again["public_risk"] is True and "legal" in again["risk_signals"]
    assert again["intent"] == "refund"
    assert again["sentiment"] < 0

    # Moments and risk, once seen, stay with the case.
    client.post(url, json={"kind": "inbound", "body": "Thanks, all good now!"}, headers=agent)
    calm = _triage(client, agent, case["id"])
    assert calm["moments"] == ["bereavement"] and calm["public_risk"] is True
    assert calm["sentiment"] > 0


def test_without_a_trained_model_triage_still_runs(
    client: TestClient, agent: Headers, customer: dict[str, Any]
) -> None:
    case = _case(client, agent, customer, "We just got married and the gift never came")
    result = _triage(client, agent, case["id"])
    assert result["intent"] is None and result["intent_source"] == "none"
    assert result["moments"] == ["wedding"]
    assert "issue_type" not in case["custom_fields"]


def test_an_unreadable_model_does_not_stop_cases(
    client: TestClient, agent: Headers, customer: dict[str, Any], container: Container
) -> None:
    with container.uow() as uow:
        info = IntentModelInfo(
            version=1,
            method="finetune-top-layers",
            labels=["a", "b"],
            examples=2,
            metrics={},
            trained_at=container.clock.now(),
            trained_by="system",
        )
        uow.triage.add_model(info, b"not a model")
        uow.triage.activate_model(1)
        uow.commit()
    for _ in range(2):
        case = _case(client, agent, customer, "Where is my parcel?")
        result = _triage(client, agent, case["id"])
        assert result["intent"] is None and result["intent_source"] == "none"


def test_the_agents_correction_becomes_a_label(
    client: TestClient,
    agent: Headers,
    customer: dict[str, Any],
    container: Container,
    trained: IntentModelInfo,
) -> None:
    case = _case(client, agent, customer, "The kettle I got leaks, I'd like it sorted")
    corrected = client.put(
        f"/api/v1/cases/{case['id']}/intent", json={"intent": "Refund"}, headers=agent
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["intent"] == "refund"
    assert corrected.json()["intent_source"] == "agent"
    assert corrected.json()["intent_confidence"] == 1.0
    assert "case.intent_corrected" in audit_actions(container, "case", case["id"])

    with container.uow() as uow:
        labels = [label for label in uow.triage.labels() if label.case_id == case["id"]]
    assert [(label.intent, label.source.value) for label in labels] == [("refund", "agent")]
    assert "kettle" in labels[0].text

    # The agent's word outlasts later messages...
    client.post(
        f"/api/v1/cases/{case['id']}/messages",
        json={"kind": "inbound", "body": "Where is my parcel?"},
        headers=agent,
    )
    assert _triage(client, agent, case["id"])["intent"] == "refund"
    # ...and the next training learns from it, one label per case (the latest).
    client.put(f"/api/v1/cases/{case['id']}/intent", json={"intent": "refund"}, headers=agent)
    trainer = EncoderIntentTrainer(shared_embedder(), QUICK)
    now = container.clock.now()
    retrained = triage.train_intent_model(container.uow, trainer, SYSTEM, now)
    assert retrained is not None and retrained.version == trained.version + 1
    assert retrained.examples == len(EXAMPLES) + 1
    # Nothing new since: a scheduled retrain does nothing.
    assert (
        triage.train_intent_model(container.uow, trainer, SYSTEM, now, only_if_new_labels=True)
        is None
    )
    models = client.get("/api/v1/intent-models", headers=agent).json()
    assert [(m["version"], m["active"]) for m in models] == [(1, False), (2, True)]

    problem(
        client.put(f"/api/v1/cases/{case['id']}/intent", json={"intent": "no way!"}, headers=agent),
        422,
        "validation_error",
    )
    problem(
        client.put("/api/v1/cases/999999/intent", json={"intent": "refund"}, headers=agent),
        404,
        "not_found",
    )


def _rule(client: TestClient, headers: Headers, **spec: Any) -> Any:
    return client.post("/api/v1/routing-rules", json=spec, headers=headers)


def test_routing_rules_crud_is_audited(
    client: TestClient, admin: Headers, agent: Headers, container: Container
) -> None:
    body = problem(
        _rule(client, admin, name="Nowhere", then={"team": "Escalations"}), 422, "validation_error"
    )
    assert body["details"]["field"] == "then.team"
    client.post("/api/v1/teams", json={"name": "Escalations"}, headers=admin)
    created = _rule(
        client,
        admin,
        name="Threats to a lead",
        when={"public_risk": True},
        then={"team": "Escalations", "priority": "high"},
    )
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["position"] == 10 and rule["version"] == 1
    second = _rule(client, admin, name="Second", then={"tags": ["b"]}).json()
    assert second["position"] == 20
    first = _rule(client, admin, name="First", then={"tags": ["a"]}, position=1).json()
    listed = client.get("/api/v1/routing-rules", headers=agent).json()
    assert [r["name"] for r in listed] == ["First", "Threats to a lead", "Second"]

    url = f"/api/v1/routing-rules/{rule['id']}"
    updated = client.put(
        url,
        json={"name": "Threats", "then": {"team": "Escalations"}, "version": 1, "position": 30},
        headers=admin,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2 and updated.json()["position"] == 30
    problem(
        client.put(url, json={"name": "x", "then": {}, "version": 1}, headers=admin),
        409,
        "version_conflict",
    )
    assert client.delete(f"/api/v1/routing-rules/{first['id']}", headers=admin).status_code == 204
    problem(client.delete(f"/api/v1/routing-rules/{first['id']}", headers=admin), 404, "not_found")
    assert [r["name"] for r in client.get("/api/v1/routing-rules", headers=agent).json()] == [
        "Second",
        "Threats",
    ]
    assert audit_actions(container, "routing_rule", rule["id"]) == [
        "routing_rule.created",
        "routing_rule.updated",
    ]
    assert audit_actions(container, "routing_rule", first["id"]) == [
        "routing_rule.created",
        "routing_rule.deleted",
    ]

    # Agents follow the rules; they do not write them. Bad rules never land.
    problem(_rule(client, agent, name="Mine", then={"team": "Me"}), 403, "forbidden")
    for bad in (
        {"name": "", "then": {}},
        {"name": "x", "then": {"priority": "sky-high"}},
        {"name": "x", "when": {"sentiment_at_most": 5}, "then": {}},
        {"name": "x", "when": {"mood": "bad"}, "then": {}},
        {"name": "x"},
        {"name": "x", "when": {"moments_any": ["newbaby"]}, "then": {}},
        {"name": "x", "when": {"channels": ["fax"]}, "then": {}},
    ):
        problem(
            client.post("/api/v1/routing-rules", json=bad, headers=admin), 422, "validation_error"
        )
    assert len(client.get("/api/v1/routing-rules", headers=agent).json()) == 2


def test_rules_route_new_cases_in_order_and_each_match_is_audited(
    client: TestClient,
    admin: Headers,
    agent: Headers,
    customer: dict[str, Any],
    container: Container,
) -> None:
    team = client.post("/api/v1/teams", json={"name": "Escalations"}, headers=admin).json()
    _rule(
        client,
        admin,
        name="Off",
        when={},
        then={"priority": "low", "tags": ["nowhere"]},
        enabled=False,
        position=1,
    )
    risk = _rule(
        client,
        admin,
        name="Public risk",
        when={"public_risk": True},
        then={"team": "Escalations", "priority": "high", "tags": ["risk"]},
        position=10,
    ).json()
    gesture = _rule(
        client,
        admin,
        name="Life events",
        when={"moments_any": ["new_baby", "bereavement"], "tiers": [customer["tier"]]},
        then={"raise_priority_to": "urgent", "tags": ["gesture"], "sla_policy": "gentle"},
        position=20,
        stop=True,
    ).json()
    _rule(client, admin, name="After stop", then={"tags": ["never"]}, position=30)

    case = _case(
        client,
        agent,
        customer,
        "Our baby was born and the cot arrived broken. I'll post about this on Facebook.",
    )
    assert case["team_id"] == team["id"]
    assert case["priority"] == "urgent"
    assert {"risk", "gesture"} <= set(case["tags"]) and "never" not in case["tags"]
    assert case["custom_fields"]["sla_policy"] == "gentle"
    result = _triage(client, agent, case["id"])
    assert [r["name"] for r in result["rules"]] == ["Public risk", "Life events"]
    assert result["rules"][0]["applied"]["team"] == "Escalations"

    trail = client.get(f"/api/v1/cases/{case['id']}/audit", headers=agent).json()
    matched = [e for e in trail if e["action"] == "routing.rule_matched"]
    assert [e["entity_id"] for e in matched] == [str(risk["id"]), str(gesture["id"])]
    assert matched[0]["after"]["rule"] == "Public risk"

    calm = _case(client, agent, customer, "Could you tell me the opening hours?")
    assert calm["team_id"] is None and calm["priority"] == "normal"
    # A `stop` halts only when its own rule matched.
    assert [r["name"] for r in _triage(client, agent, calm["id"])["rules"]] == ["After stop"]
    assert calm["tags"] == ["never"]


def test_triage_again_on_demand_after_a_model_is_trained(
    client: TestClient,
    agent: Headers,
    viewer: Headers,
    customer: dict[str, Any],
    container: Container,
) -> None:
    case = _case(client, agent, customer, "I forgot my password and cannot sign in")
    assert _triage(client, agent, case["id"])["intent"] is None
    triage.add_labels(container.uow(), SYSTEM, container.clock.now(), EXAMPLES)
    trainer = EncoderIntentTrainer(shared_embedder(), QUICK)
    assert triage.train_intent_model(container.uow, trainer, SYSTEM, container.clock.now())

    url = f"/api/v1/cases/{case['id']}/triage"
    problem(client.post(url, headers=viewer), 403, "forbidden")
    again = client.post(url, headers=agent)
    assert again.status_code == 200, again.text
    assert again.json()["intent"] == "account_access"
    assert again.json()["intent_source"] == "model"
    assert _triage(client, agent, case["id"]) == again.json()

    for path in ("/api/v1/cases/999999/triage", "/api/v1/cases/999999/suggestions"):
        problem(client.get(path, headers=agent), 404, "not_found")
    problem(client.post("/api/v1/cases/999999/triage", headers=agent), 404, "not_found")


def test_a_fine_tuned_model_round_trips_through_the_database(
    client: TestClient,
    agent: Headers,
    customer: dict[str, Any],
    container: Container,
    work_off: Callable[[], int],
) -> None:
    """The default method tunes the encoder's top layers; what is stored is read back."""
    triage.add_labels(container.uow(), SYSTEM, container.clock.now(), EXAMPLES)
    plan = TrainingPlan(top_layers=1, target_steps=8, min_epochs=8, max_epochs=8)
    trainer = EncoderIntentTrainer(shared_embedder(), plan)
    info = triage.train_intent_model(container.uow, trainer, SYSTEM, container.clock.now())
    assert info is not None and info.method == "finetune-top-layers"
    assert info.labels == ["account_access", "refund", "where_is_my_order"]
    assert info.metrics["top_layers"] == 1 and info.metrics["per_intent"]["refund"] == 4
    case = _case(client, agent, customer, "Please refund my payment for the kettle")
    work_off()
    result = _triage(client, agent, case["id"])
    assert result["intent"] == "refund" and result["model_version"] == info.version


def test_training_needs_two_intents(container: Container) -> None:
    trainer = EncoderIntentTrainer(shared_embedder(), QUICK)
    now = container.clock.now()
    with pytest.raises(DomainError) as caught:
        triage.train_intent_model(container.uow, trainer, SYSTEM, now)
    assert caught.value.code is ErrorCode.NOT_ENOUGH_LABELS
    triage.add_labels(container.uow(), SYSTEM, now, EXAMPLES[:4])
    with pytest.raises(DomainError) as caught:
        triage.train_intent_model(container.uow, trainer, SYSTEM, now)
    assert caught.value.details["intents"] == {"where_is_my_order": 4}
    # A bad example anywhere in a file lands nothing.
    with pytest.raises(ValidationFailed, match="example 2"):
        triage.add_labels(container.uow(), SYSTEM, now, [("fine", "refund"), ("bad", "no way!")])
    with container.uow() as uow:
        assert len(uow.triage.labels()) == 4


def test_moments_and_risk_reach_the_planner(
    client: TestClient, agent: Headers, customer: dict[str, Any]
) -> None:
    baby = _case(client, agent, customer, "Our baby was born last week and the pram is late")
    plan = client.get(f"/api/v1/cases/{baby['id']}/plan", headers=agent)
    assert plan.status_code == 200, plan.text
    offered = {r["id"] for offer in plan.json()["offers"] for r in offer["remedies"]}
    assert "handwritten-note" in offered

    plain = _case(client, agent, customer, "The pram is late")
    plan = client.get(f"/api/v1/cases/{plain['id']}/plan", headers=agent).json()
    offered = {r["id"] for offer in plan["offers"] for r in offer["remedies"]}
    assert "handwritten-note" not in offered and "handwritten-note" in plan["ineligible"]

    # A threat to go public raises what is at stake for the same customer.
    risky = _case(client, agent, customer, "The pram is late. I will post about it on Twitter.")
    risky_plan = client.get(f"/api/v1/cases/{risky['id']}/plan", headers=agent).json()
    assert Decimal(risky_plan["value_at_stake"]) > Decimal(plan["value_at_stake"])


@pytest.mark.parametrize(
    "body", ["注文した商品がまだ届きません", "Mi pedido no ha llegado todavía", "🙂🙂🙂", "12345"]
)
def test_other_languages_are_triaged_without_error(
    client: TestClient,
    agent: Headers,
    customer: dict[str, Any],
    trained: IntentModelInfo,
    body: str,
    work_off: Callable[[], int],
) -> None:
    case = _case(client, agent, customer, body, subject=body)
    work_off()
    result = _triage(client, agent, case["id"])
    assert result["language"] == "und"
    assert result["intent"] in {"where_is_my_order", "refund", "account_access"}
    assert 0 <= result["intent_confidence"] <= 1


def test_a_desk_may_read_the_intent_inside_the_request(
    client: TestClient,
    agent: Headers,
    customer: dict[str, Any],
    container: Container,
    trained: IntentModelInfo,
    work_off: Callable[[], int],
) -> None:
    """CAREDESK_INTENT_TRIAGE=inline: the answer carries the intent, and nothing is queued."""
    assert container.triage is not None
    container.triage.intent_in_worker = False
    case = _case(client, agent, customer, "Please refund my payment")
    assert case["custom_fields"]["issue_type"] == "refund"
    assert work_off() == 0


def test_the_worker_reads_only_the_latest_words(
    client: TestClient,
    agent: Headers,
    customer: dict[str, Any],
    container: Container,
    trained: IntentModelInfo,
    work_off: Callable[[], int],
) -> None:
    """Two messages before the worker runs: the older jobs give way to the newest, and one
    of them run late (retried after the newest was read) changes nothing."""
    case = _case(client, agent, customer, "How do I reset my password?")
    url = f"/api/v1/cases/{case['id']}/messages"
    client.post(url, json={"kind": "inbound", "body": "Where is my parcel?"}, headers=agent)
    client.post(url, json={"kind": "inbound", "body": "Please refund my payment"}, headers=agent)
    assert work_off() == 3
    result = _triage(client, agent, case["id"])
    assert result["intent"] == "refund" and result["intent_source"] == "model"
    triaged = audit_actions(container, "case", case["id"]).count("case.triaged")
    messages = client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()["messages"]
    latest = max(m["id"] for m in messages if m["kind"] == "inbound")
    triage.predict_intent_later(
        container.uow(), container.triage, container.clock.now(), case["id"], latest - 1
    )
    assert audit_actions(container, "case", case["id"]).count("case.triaged") == triaged
    assert _triage(client, agent, case["id"]) == result


def test_the_worker_reads_a_batch_of_intents_in_one_model_call(
    client: TestClient,
    agent: Headers,
    customer: dict[str, Any],
    container: Container,
    trained: IntentModelInfo,
    work_off: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert container.triage.intents is not None
    with container.uow() as uow:
        loaded = container.triage.intents.active(uow)
    assert loaded is not None
    classifier = loaded[1]
    calls: list[list[str]] = []
    predict = classifier.predict

    def counted(texts: Any) -> list[tuple[str, float]]:
        calls.append(list(texts))
        return predict(texts)

    monkeypatch.setattr(classifier, "predict", counted)
    bodies = {
        "Please refund my payment": "refund",
        "I'm locked out of my account": "account_access",
        "Tracking says nothing since Monday, where is the package?": "where_is_my_order",
    }
    cases = [_case(client, agent, customer, body) for body in bodies]

    assert work_off() == 3

    assert calls == [[f"Hi\n{body}" for body in bodies]]
    for case, intent in zip(cases, bodies.values(), strict=True):
        result = _triage(client, agent, case["id"])
        assert (result["intent"], result["intent_source"]) == (intent, "model")
        # The confidence the case gets is the one the model gives the message alone.
        alone = predict([f"Hi\n{list(bodies)[cases.index(case)]}"])[0]
        assert result["intent_confidence"] == round(alone[1], 4)
    # Each job kept its own outcome: all done, none run twice.
    assert work_off() == 0


def test_the_worker_command_reads_the_intents_that_requests_queued(
    client: TestClient,
    agent: Headers,
    customer: dict[str, Any],
    container: Container,
    trained: IntentModelInfo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_MODEL_DIR", str(container.settings.model_dir))
    case = _case(client, agent, customer, "Please refund my payment")

    result = CliRunner().invoke(app, ["worker", "--once"])

    assert result.exit_code == 0, result.output
    found = _triage(client, agent, case["id"])
    assert (found["intent"], found["intent_source"]) == ("refund", "model")
    assert found["model_version"] == trained.version
