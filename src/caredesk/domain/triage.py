"""Triage rules without I/O: public risk, life moments, language, and routing rules as data.

The intent model and the sentiment lexicon live behind ports (they load files); what is
decided from their outputs lives here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from caredesk.domain.cases import Priority, normalise_tags
from caredesk.domain.errors import ValidationFailed

# A customer who threatens to go public, to a bank or to a lawyer: worth a lead's look.
PUBLIC_RISK_PATTERNS: dict[str, str] = {
    "review": r"\b(?:(?:bad|negative|1[- ]star|one[- ]star|honest)\s+)?reviews?\b"
    r"|\b(?:trustpilot|yelp|rate you|rating)\b",
    # "news" and "press" alone are everyday words ("great news"); only going to them counts.
    "social": r"\b(?:twitter|tweet|facebook|instagram|tiktok|reddit|social media|blog|"
    r"post (?:this|about)|go(?:ing)? public|tell (?:everyone|all my friends)|"
    r"(?:to|contact|call|tell|tip off) (?:the )?(?:press|media|news)|newspapers?|"
    r"journalists?|reporters?)\b",
    "chargeback": r"\b(?:charge ?back|dispute (?:the|this) (?:charge|payment)|"
    r"call my bank|contact my bank|card company)\b",
    # A court is a threat only when someone is taken to one ("food court" is not).
    "legal": r"\b(?:lawyer|attorney|solicitor|sue|suing|lawsuit|legal action|small claims|"
    r"(?:to|in|see you in) court|ombudsman|consumer protection|bbb|better business bureau|"
    r"trading standards)\b",
    "leaving": r"\b(?:cancel (?:my|the) (?:account|membership|subscription)|close my account|"
    r"never (?:order|buy|shop)\w* (?:from|with|here) (?:you|again)|take my business elsewhere|"
    r"switch(?:ing)? to (?:a )?competitor|last time i (?:order|buy|shop))\b",
}
# Threat words count only in a threatening frame; "I read the reviews" is no threat.
_THREAT_FRAME = re.compile(
    r"\b(?:will|i'll|i will|going to|gonna|about to|unless|otherwise|or (?:else )?i|"
    r"i'm|i am|considering|thinking (?:about|of)|plan to|ready to|won't hesitate|until)\b",
    re.IGNORECASE,
)
_ALWAYS_RISKY = frozenset({"chargeback", "legal"})

MOMENT_PATTERNS: dict[str, str] = {
    "new_baby": r"\b(?:(?:new|newborn|our|my) (?:baby|son|daughter)\b.{0,40}\b(?:born|arrived)|"
    r"(?:baby|son|daughter|twins) (?:was|were|is) (?:just )?born|newborn|new baby|"
    r"gave birth|maternity leave|paternity leave|having a baby|expecting a baby|"
    r"baby shower|became (?:a )?(?:mom|mum|dad|parents?))\b",
    "wedding": r"\b(?:wedding|getting married|got married|just married|honeymoon|"
    r"my fianc[eé]e?|bride|groom|engagement party)\b",
    "moving": r"\b(?:moving (?:house|home|out|in|to)|(?:we|i) (?:just )?moved|new (?:home|house|"
    r"apartment|flat)|relocat(?:e|ing|ed)|change of address)\b",
    # Things die too ("the battery died"): only a person's (or a pet's) death is a moment.
    "bereavement": r"\b(?:passed away|funeral|bereave\w*|in mourning|lost my "
    r"(?:mother|father|mom|mum|dad|husband|wife|partner|son|daughter|brother|sister|"
    r"grandmother|grandfather|grandma|grandpa|friend)|(?:death|loss) of my|"
    r"(?:mother|father|mom|mum|dad|husband|wife|partner|son|daughter|brother|sister|"
    r"grandmother|grandfather|grandma|grandpa|friend|uncle|aunt|child|baby|dog|cat)"
    r"(?: has| had)?(?: just| recently| suddenly)? died)\b",
    "illness": r"\b(?:in (?:the )?hospital|hospitali[sz]ed|surgery|chemo\w*|cancer|"
    r"diagnos\w+|recovering from|"
    r"(?:been|am|was|i'm) (?:very |really |quite )?(?:ill|sick)(?! of| and tired)|illness)\b",
    # "turn 5 knobs" is no birthday: an age counts only with a when.
    "birthday": r"\b(?:birthday|bday|(?:turns?|turning) (?:\d{1,3}|one|two|five|ten|thirty|"
    r"forty|fifty|sixty) (?:today|tomorrow|this|next|on))\b",
}

_COMPILED_RISK = {k: re.compile(v, re.IGNORECASE) for k, v in PUBLIC_RISK_PATTERNS.items()}
_COMPILED_MOMENTS = {k: re.compile(v, re.IGNORECASE) for k, v in MOMENT_PATTERNS.items()}
_LATIN_WORD = re.compile(r"[a-z]+")
_ENGLISH = frozenset(
    """the a an and or to of in on for with my your i you it is was are be have has not no
    this that can please thanks thank order card account help me we our do did when where
    why how what will would could get got still been from at by if but so just
    out up yet there they them their had does don didn doesn isn wasn won haven hasn couldn
    ll ve hi hello dear sorry refund delivery delivered arrived received package parcel item
    money back waiting week today yesterday tomorrow""".split()  # noqa: SIM905
)


# Words of _ENGLISH that Spanish, French, German, Italian, Portuguese or Dutch use as well.
_SHARED_WORDS = frozenset("a an in on no me do is so at be by i".split())  # noqa: SIM905


@dataclass(frozen=True, slots=True)
class PublicRisk:
    at_risk: bool
    confidence: float
    signals: tuple[str, ...] = ()


def public_risk(text: str) -> PublicRisk:
    """Threats of a review, a post, a chargeback, a lawyer, or leaving; with a confidence."""
    signals: list[str] = []
    framed = bool(_THREAT_FRAME.search(text))
    for name, pattern in _COMPILED_RISK.items():
        if pattern.search(text) and (framed or name in _ALWAYS_RISKY or name == "leaving"):
            signals.append(name)
    if not signals:
        return PublicRisk(False, 0.9 if text.strip() else 0.5)
    confidence = min(0.99, 0.7 + 0.1 * len(signals) + (0.1 if framed else 0.0))
    return PublicRisk(True, round(confidence, 2), tuple(signals))


# Intents that name what is wrong with the item: the remedies for a faulty product
# (replacement, keep-the-item) are keyed on them in the policy.
FAULT_INTENTS = frozenset({"defective", "damaged", "wrong_item", "known_issue"})
# Intents that say how the customer feels or nothing specific; they never replace a fault.
GRIEVANCE_INTENTS = frozenset({"complaint", "general"})
DEFECTIVE_INTENT = "defective"
_PRODUCT_FAULT = re.compile(
    r"\b(?:stopped|stops|quit|quits)\s+(?:working|heating|charging|cooling|printing|"
    r"spinning|turning\s+on|pumping)\b"
    r"|\b(?:does\s*n[o']?t|doesnt|won'?t|will\s+not|can'?t|cannot|isn'?t|is\s+not)\s+"
    r"(?:work|working|heat|heating|turn\s+on|power\s+on|charge|charging|start|print|"
    r"printing|cool|spin|connect|pair)\b"
    r"|\b(?:broken|broke\s+down|faulty|defective|malfunction\w*|dead\s+on\s+arrival|"
    r"cracked|leak(?:s|ing)?|not\s+working|lukewarm|overheat\w*|shorted\s+out)\b",
    re.IGNORECASE,
)


def product_fault(text: str) -> bool:
    """Does the customer describe an item that does not work as it should?"""
    return bool(_PRODUCT_FAULT.search(text))


def settle_intent(predicted: str | None, previous: str | None, text: str) -> str | None:
    """The intent to keep when triage reads another message of the case.

    An angry follow-up about a broken machine reads as a `complaint`, but the case is still
    about the broken machine: relabelling it would take the replacement the policy grants
    for a fault off the table. So a grievance never replaces a fault found earlier, and a
    grievance that itself describes a faulty product is that fault. Anger and threats are
    kept apart, as sentiment and public risk.
    """
    if predicted not in GRIEVANCE_INTENTS:
        return predicted
    if previous in FAULT_INTENTS:
        return previous
    if product_fault(text):
        return DEFECTIVE_INTENT
    return predicted


def moments(text: str) -> list[str]:
    """Life events worth a gesture, in a fixed order."""
    return [name for name, pattern in _COMPILED_MOMENTS.items() if pattern.search(text)]


def language(text: str) -> tuple[str, float]:
    """'en' with a confidence, or 'und' when the text does not read as English."""
    words = _LATIN_WORD.findall(text.lower())
    letters = sum(c.isalpha() for c in text)
    if letters == 0:
        return "und", 0.0
    latin_share = sum(len(w) for w in words) / letters
    if not words or latin_share < 0.6:
        return "und", round(1.0 - latin_share, 2)
    english = sum(w in _ENGLISH for w in words) / len(words)
    # Short words other languages write too ("no", "a", "me") are evidence only next to a
    # word that is English alone: "Mi pedido no ha llegado" is not English.
    distinct = any(w in _ENGLISH and w not in _SHARED_WORDS for w in words)
    if distinct and (english >= 0.12 or (len(words) <= 4 and english > 0)):
        return "en", round(min(1.0, 0.5 + english), 2)
    return "und", round(1.0 - english, 2)


# Routing rules: data, evaluated in order; each match is audited by the service.


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoutingWhen(_Strict):
    """All given conditions must hold; an empty `when` matches every case."""

    intents: list[str] | None = None
    min_intent_confidence: float | None = Field(default=None, ge=0, le=1)
    sentiment_at_most: float | None = Field(default=None, ge=-1, le=1)
    sentiment_at_least: float | None = Field(default=None, ge=-1, le=1)
    public_risk: bool | None = None
    moments_any: list[str] | None = None
    tiers: list[str] | None = None
    known_issue: bool | None = None
    channels: list[str] | None = None
    languages: list[str] | None = None


class RoutingThen(_Strict):
    team: str | None = Field(default=None, description="A team name.")
    priority: Priority | None = None
    raise_priority_to: Priority | None = Field(
        default=None, description="Raise the priority to at least this."
    )
    tags: list[str] = Field(default_factory=list)
    sla_policy: str | None = Field(default=None, max_length=64)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return normalise_tags(value)


class RoutingRuleSpec(_Strict):
    name: str = Field(min_length=1, max_length=120)
    when: RoutingWhen = RoutingWhen()
    then: RoutingThen
    stop: bool = Field(default=False, description="No later rule is evaluated after a match.")
    enabled: bool = True


# Positions are stored as 32-bit integers; a rule appended without one goes ten after the last.
POSITION_MAX = 2**31 - 1
POSITION_STEP = 10


def next_position(taken: Iterable[int]) -> int:
    """Where a rule given no position goes: after the last one, with room to insert between."""
    last = max(taken, default=0)
    if last >= POSITION_MAX:
        raise ValidationFailed(
            f"no position is left after {last}: give the rule a position",
            details={"field": "position"},
        )
    return min(last + POSITION_STEP, POSITION_MAX)


@dataclass(slots=True)
class RoutingRule:
    id: int | None
    position: int
    spec: RoutingRuleSpec
    version: int = 1


@dataclass(frozen=True, slots=True)
class TriageFacts:
    """What triage learned, as the routing rules see it."""

    intent: str | None
    intent_confidence: float
    sentiment: float
    public_risk: bool
    moments: tuple[str, ...]
    tier: str | None
    known_issue: bool
    channel: str
    language: str


def rule_matches(when: RoutingWhen, facts: TriageFacts) -> bool:
    checks: list[bool] = []
    if when.intents is not None:
        checks.append(facts.intent in when.intents)
    if when.min_intent_confidence is not None:
        checks.append(facts.intent_confidence >= when.min_intent_confidence)
    if when.sentiment_at_most is not None:
        checks.append(facts.sentiment <= when.sentiment_at_most)
    if when.sentiment_at_least is not None:
        checks.append(facts.sentiment >= when.sentiment_at_least)
    if when.public_risk is not None:
        checks.append(facts.public_risk is when.public_risk)
    if when.moments_any is not None:
        checks.append(bool(set(when.moments_any) & set(facts.moments)))
    if when.tiers is not None:
        checks.append(facts.tier in when.tiers)
    if when.known_issue is not None:
        checks.append(facts.known_issue is when.known_issue)
    if when.channels is not None:
        checks.append(facts.channel in when.channels)
    if when.languages is not None:
        checks.append(facts.language in when.languages)
    return all(checks)


_PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


@dataclass(slots=True)
class RoutingDecision:
    team: str | None = None
    priority: Priority | None = None
    tags: list[str] = field(default_factory=list)
    sla_policy: str | None = None
    matched: list[tuple[RoutingRule, dict[str, Any]]] = field(default_factory=list)


def route(
    rules: list[RoutingRule], facts: TriageFacts, current_priority: Priority
) -> RoutingDecision:
    """Apply every enabled matching rule in order (later ones override), until a `stop`."""
    decision = RoutingDecision()
    priority = current_priority
    for rule in sorted(rules, key=lambda r: (r.position, r.id or 0)):
        spec = rule.spec
        if not spec.enabled or not rule_matches(spec.when, facts):
            continue
        then = spec.then
        applied: dict[str, Any] = {}
        if then.team is not None:
            decision.team = then.team
            applied["team"] = then.team
        if then.priority is not None:
            priority = then.priority
            decision.priority = priority
            applied["priority"] = priority.value
        if then.raise_priority_to is not None and _PRIORITY_ORDER.index(
            then.raise_priority_to
        ) > _PRIORITY_ORDER.index(priority):
            priority = then.raise_priority_to
            decision.priority = priority
            applied["priority"] = priority.value
        if then.tags:
            decision.tags = sorted({*decision.tags, *then.tags})
            applied["tags"] = list(then.tags)
        if then.sla_policy is not None:
            decision.sla_policy = then.sla_policy
            applied["sla_policy"] = then.sla_policy
        decision.matched.append((rule, applied))
        if spec.stop:
            break
    return decision
