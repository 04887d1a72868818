"""Triage rules without I/O: public risk, moments, language, and routing rules in order."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from caredesk.domain.cases import Priority
from caredesk.domain.errors import ValidationFailed
from caredesk.domain.triage import (
    POSITION_MAX,
    RoutingRule,
    RoutingRuleSpec,
    RoutingThen,
    RoutingWhen,
    TriageFacts,
    language,
    moments,
    next_position,
    product_fault,
    public_risk,
    route,
    rule_matches,
    settle_intent,
)


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("I will leave a 1-star review on Trustpilot", "review"),
        ("Fix this or I'm going to post about it on Twitter", "social"),
        ("I will go to the press with this", "social"),
        ("I'm about to file a chargeback", "chargeback"),
        ("I will dispute this charge with my card company", "chargeback"),
        ("My lawyer will hear about this", "legal"),
        ("See you in court", "legal"),
        ("Cancel my account now", "leaving"),
        ("I will never order from you again", "leaving"),
    ],
)
def test_threats_are_public_risk(text: str, signal: str) -> None:
    risk = public_risk(text)
    assert risk.at_risk and signal in risk.signals
    assert 0.7 <= risk.confidence <= 0.99


@pytest.mark.parametrize(
    "text",
    [
        "I read the reviews before I bought it",
        "I am so happy, great news!",
        "I left my bag at the food court",
        "Where is my order?",
        "",
    ],
)
def test_no_threat_no_risk(text: str) -> None:
    risk = public_risk(text)
    assert not risk.at_risk and risk.signals == ()


def test_more_signals_more_confidence() -> None:
    one = public_risk("I will leave a review")
    two = public_risk("I will leave a review and call my lawyer")
    assert two.confidence > one.confidence
    assert set(two.signals) == {"review", "legal"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Our baby was born last week, so I missed the delivery", ["new_baby"]),
        ("We just got married and the gift never came", ["wedding"]),
        ("We just moved, please change of address", ["moving"]),
        ("My mother passed away and I need to cancel", ["bereavement"]),
        ("My father died in March", ["bereavement"]),
        ("I have been very ill and in hospital", ["illness"]),
        ("It was for my son's birthday", ["birthday"]),
        ("My daughter turns 5 next week", ["birthday"]),
        ("Our baby was born on my birthday", ["new_baby", "birthday"]),
    ],
)
def test_moments(text: str, expected: list[str]) -> None:
    assert moments(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "My phone battery died after a day",
        "The printer died yesterday",
        "I am sick of waiting for this parcel",
        "Turn 5 knobs to reset it",
        "Please move my order to next week",
    ],
)
def test_things_are_not_life_events(text: str) -> None:
    assert moments(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour, ma commande est en retard depuis une semaine",
        "Mi pedido no ha llegado todavía",
        "Meine Bestellung ist nicht angekommen, bitte helfen Sie mir",
        "Il mio ordine non è arrivato",
        "Meu pedido não chegou, me ajude",
        "Ik heb mijn bestelling nog niet ontvangen, is dat normaal?",
    ],
)
def test_other_languages_are_not_english(text: str) -> None:
    assert language(text)[0] == "und"


def test_language() -> None:
    assert language("Where is my order? I have been waiting for a week.")[0] == "en"
    assert language("no refund yet?")[0] == "en"
    assert language("I'm locked out")[0] == "en"
    assert language("注文がまだ届きません")[0] == "und"
    assert language("12345 !!!") == ("und", 0.0)
    assert language("help please")[0] == "en"


FACTS = TriageFacts(
    intent="refund",
    intent_confidence=0.8,
    sentiment=-0.6,
    public_risk=True,
    moments=("new_baby",),
    tier="gold",
    known_issue=False,
    channel="email",
    language="en",
)


def rule(
    position: int, name: str, when: dict[str, object], then: dict[str, object], **extra: object
) -> RoutingRule:
    spec = RoutingRuleSpec.model_validate({"name": name, "when": when, "then": then, **extra})
    return RoutingRule(id=position, position=position, spec=spec)


@pytest.mark.parametrize(
    ("when", "matches"),
    [
        ({}, True),
        ({"intents": ["refund", "cancel"]}, True),
        ({"intents": ["cancel"]}, False),
        ({"min_intent_confidence": 0.9}, False),
        ({"sentiment_at_most": -0.5}, True),
        ({"sentiment_at_least": 0.0}, False),
        ({"public_risk": True, "tiers": ["gold"]}, True),
        ({"public_risk": True, "tiers": ["silver"]}, False),
        ({"moments_any": ["bereavement", "new_baby"]}, True),
        ({"known_issue": True}, False),
        ({"channels": ["chat"]}, False),
        ({"languages": ["en"]}, True),
    ],
)
def test_rule_conditions_all_must_hold(when: dict[str, object], matches: bool) -> None:
    assert rule_matches(RoutingWhen.model_validate(when), FACTS) is matches


def test_rules_apply_in_order_later_ones_override_until_stop() -> None:
    rules = [
        rule(30, "never", {"intents": ["cancel"]}, {"team": "Nobody"}),
        rule(20, "vip", {"tiers": ["gold"]}, {"team": "VIP", "tags": ["vip"]}, stop=True),
        rule(
            10,
            "risk",
            {"public_risk": True},
            {"team": "Escalations", "priority": "high", "tags": ["risk"], "sla_policy": "fast"},
        ),
        rule(40, "after stop", {}, {"team": "Late"}),
    ]
    decision = route(rules, FACTS, Priority.NORMAL)
    assert [r.spec.name for r, _ in decision.matched] == ["risk", "vip"]
    assert decision.team == "VIP"
    assert decision.priority is Priority.HIGH
    assert decision.tags == ["risk", "vip"]
    assert decision.sla_policy == "fast"
    assert decision.matched[0][1] == {
        "team": "Escalations",
        "priority": "high",
        "tags": ["risk"],
        "sla_policy": "fast",
    }


def test_raise_priority_never_lowers_and_disabled_rules_are_skipped() -> None:
    rules = [
        rule(1, "raise", {}, {"raise_priority_to": "high"}),
        rule(2, "off", {}, {"priority": "low"}, enabled=False),
    ]
    assert route(rules, FACTS, Priority.URGENT).priority is None
    assert route(rules, FACTS, Priority.LOW).priority is Priority.HIGH
    assert [r.spec.name for r, _ in route(rules, FACTS, Priority.LOW).matched] == ["raise"]


def test_rule_specs_are_strict() -> None:
    with pytest.raises(ValidationError):
        RoutingRuleSpec.model_validate({"name": "x", "then": {"team": "A"}, "whatever": 1})
    with pytest.raises(ValidationError):
        RoutingWhen.model_validate({"sentiment_at_most": 3})
    with pytest.raises(ValidationError):
        RoutingThen.model_validate({"priority": "sky-high"})
    assert RoutingThen.model_validate({"tags": ["B", "a", "b"]}).tags == ["a", "b"]


ESPRESSO_FOLLOW_UP = (
    "Espresso machine stopped heating\nYou have just sent me, word for word, the same "
    "descaling instructions I got two days ago. If nobody there can get past the script, I "
    "will write up this whole exchange in a review and post it everywhere I can."
)


def test_a_complaint_about_a_faulty_machine_stays_a_fault() -> None:
    # Read on its own, the follow-up is a complaint; the case is still a broken machine.
    assert settle_intent("complaint", "defective", ESPRESSO_FOLLOW_UP) == "defective"
    assert settle_intent("complaint", "damaged", "this is ridiculous") == "damaged"
    # No fault found before, but the words describe one.
    assert settle_intent("complaint", None, ESPRESSO_FOLLOW_UP) == "defective"
    assert settle_intent("general", "billing", "it doesn't turn on at all") == "defective"


def test_other_intents_and_plain_complaints_are_kept() -> None:
    assert settle_intent("complaint", None, "Your staff was rude to me on the phone") == "complaint"
    assert settle_intent("complaint", "late_delivery", "still nothing, awful") == "complaint"
    assert settle_intent("return_request", "defective", "I want to send it back") == (
        "return_request"
    )
    assert settle_intent(None, "defective", "hello") is None


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("My espresso machine has stopped heating properly", True),
        ("the coffee comes out lukewarm", True),
        ("The printer won't print since the update", True),
        ("It doesn't turn on", True),
        ("arrived cracked", True),
        ("Where is my order?", False),
        ("I'd like to change my address", False),
        ("Your agent was rude", False),
    ],
)
def test_product_fault(text: str, fault: bool) -> None:
    assert product_fault(text) is fault


def test_a_rule_without_a_position_goes_after_the_last_within_what_is_stored() -> None:
    """Appending after a rule at the highest stored position was a 500 on PostgreSQL (the
    position overflowed its column): it now lands on the last position, then is refused."""
    assert next_position([]) == 10
    assert next_position([5, 40]) == 50
    assert next_position([POSITION_MAX - 3]) == POSITION_MAX
    with pytest.raises(ValidationFailed):
        next_position([POSITION_MAX])
