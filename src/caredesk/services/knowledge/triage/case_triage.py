"""Triage of a case: what it is about, how the customer feels, what is at stake, where it goes."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caredesk.domain.agents import SYSTEM, Actor, Permission
from caredesk.domain.cases import Case, CaseOpened, MessageAdded, MessageKind
from caredesk.domain.errors import NotFound, must_exist
from caredesk.domain.events import Event
from caredesk.domain.intents import CaseTriage
from caredesk.domain.triage import (
    PublicRisk,
    TriageFacts,
    language,
    moments,
    public_risk,
    route,
    settle_intent,
)
from caredesk.services.core import jobs
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.jobs import HandlerRegistry, JobContext
from caredesk.services.core.messagebus import Handler
from caredesk.services.engine.facts import (
    ISSUE_FIELD,
    KNOWN_ISSUE_FIELD,
    MOMENTS_FIELD,
    RISK_FIELD,
    SENTIMENT_FIELD,
    listed_values,
)
from caredesk.services.knowledge.triage.engine import TriageEngine
from caredesk.services.knowledge.unit import KnowledgeUnit

KNOWN_ISSUE_INTENT = "known_issue"
# The worker's job that reads a case's intent with the model after the request committed.
INTENT_KIND = "triage.intent"
CONFIDENCE_FIELDS = {
    "intent": "issue_type_confidence",
    "risk": "public_risk_confidence",
}


@dataclass(frozen=True, slots=True)
class TriageOutcome:
    triage: CaseTriage
    case: Case
    applied: dict[str, Any] = field(default_factory=dict)


def _joined(values: list[str]) -> str | None:
    return ",".join(values) if values else None


def matching_known_issues(uow: KnowledgeUnit, case: Case, text: str) -> list[str]:
    products, variants = uow.orders.owned_items(case.customer_id)
    if not products and not variants:
        return []
    issues = uow.known_issues.affecting(products, variants)
    if not issues:
        return []
    # A customer tells the story over several messages ("it stopped after the upgrade",
    # then "I'm on macOS 15"): the conditions may be met by the messages as a whole.
    assert case.id is not None
    inbound = [m.body for m in uow.cases.messages(case.id) if m.kind is MessageKind.INBOUND]
    if text not in inbound:
        inbound.append(text)
    haystack = "\n".join([case.subject, *inbound])
    return [i.key for i in issues if i.matches(products, variants, haystack)]


@dataclass(frozen=True, slots=True)
class _Reading:
    """What triage reads in the case's words, before it routes the case."""

    language: str
    sentiment: float
    risk: PublicRisk
    moments: list[str]
    known_issues: list[str]
    intent: str | None
    confidence: float
    source: str
    model_version: int | None


# Intents the model read ahead for a batch of jobs, by model version and the words it read.
Predictions = MutableMapping[tuple[int, str], tuple[str, float]]


def intent_text(case: Case, text: str) -> str:
    """The words the intent model reads: the case's subject and the message."""
    return f"{case.subject}\n{text}".strip()


def triage_case_in(
    uow: KnowledgeUnit,
    engine: TriageEngine,
    now: datetime,
    case: Case,
    text: str,
    *,
    message_id: int | None = None,
    predict_intent: bool = True,
    predictions: Predictions | None = None,
) -> TriageOutcome:
    """Triage `case` on `text` inside the caller's open unit of work (the caller commits).

    Without `predict_intent` the model is not asked: the case keeps the intent it had, and
    the worker's `triage.intent` job asks it after the commit. An intent found in
    `predictions` (read ahead for a batch) is taken from there, and taken out.
    """
    assert case.id is not None
    before = case.snapshot()
    previous = uow.triage.case_triage(case.id)
    reading = _read(uow, engine, case, text, previous, predict_intent, predictions)
    fields = dict(case.custom_fields)
    merged_moments = sorted({*listed_values(fields.get(MOMENTS_FIELD)), *reading.moments})
    merged_known = sorted({*listed_values(fields.get(KNOWN_ISSUE_FIELD)), *reading.known_issues})
    at_risk = reading.risk.at_risk or bool(previous and previous.public_risk)
    _write_fields(case, reading, at_risk, merged_moments, merged_known)
    customer = uow.customers.get(case.customer_id)
    facts = TriageFacts(
        intent=reading.intent,
        intent_confidence=reading.confidence,
        sentiment=reading.sentiment,
        public_risk=at_risk,
        moments=tuple(merged_moments),
        tier=customer.tier if customer else None,
        known_issue=bool(merged_known),
        channel=case.channel.value,
        language=reading.language,
    )
    applied, rules_log = _route(uow, now, case, facts, _found_tags(case, reading))
    triage = CaseTriage(
        case_id=case.id,
        triaged_at=now,
        intent=reading.intent,
        intent_confidence=round(reading.confidence, 4),
        intent_source=reading.source,
        sentiment=reading.sentiment,
        public_risk=at_risk,
        public_risk_confidence=reading.risk.confidence,
        language=reading.language,
        model_version=reading.model_version,
        message_id=message_id,
        risk_signals=list(reading.risk.signals),
        moments=merged_moments,
        known_issues=merged_known,
        rules=rules_log,
    )
    uow.triage.save_case_triage(triage)
    _record_triaged(case, now, before, triage)
    uow.cases.save(case)
    return TriageOutcome(triage, case, applied)


def _read(
    uow: KnowledgeUnit,
    engine: TriageEngine,
    case: Case,
    text: str,
    previous: CaseTriage | None,
    predict_intent: bool,
    predictions: Predictions | None = None,
) -> _Reading:
    full_text = intent_text(case, text)
    lang, _ = language(full_text)
    polarity = round(engine.sentiment.polarity(text or case.subject), 3)
    risk = public_risk(full_text)
    found_moments = moments(full_text)
    intent: str | None = None
    confidence = 0.0
    source = "none"
    model_version: int | None = None
    if previous is not None and previous.intent_source == "agent":
        intent, confidence, source = previous.intent, 1.0, "agent"
    elif not predict_intent:
        if previous is not None:
            # Until the worker reads the new words, the case keeps what was read before.
            intent, confidence, source = (
                previous.intent,
                previous.intent_confidence,
                previous.intent_source,
            )
            model_version = previous.model_version
    elif engine.intents is not None:
        loaded = engine.intents.active(uow)
        if loaded is not None:
            model_version, classifier = loaded
            ahead = predictions.pop((model_version, full_text), None) if predictions else None
            predicted, confidence = ahead or classifier.predict([full_text])[0]
            earlier = case.custom_fields.get(ISSUE_FIELD)
            intent = settle_intent(
                predicted, earlier if isinstance(earlier, str) else None, full_text
            )
            source = "model" if intent == predicted else "rule"
    known = matching_known_issues(uow, case, text)
    if known and source != "agent":
        intent, confidence, source = KNOWN_ISSUE_INTENT, 1.0, "known_issue"
    return _Reading(
        lang, polarity, risk, found_moments, known, intent, confidence, source, model_version
    )


def _write_fields(
    case: Case,
    reading: _Reading,
    at_risk: bool,
    merged_moments: list[str],
    merged_known: list[str],
) -> None:
    """Where the planner reads them: what triage found, merged with what the case had."""
    fields = dict(case.custom_fields)
    before_fields = dict(fields)
    if reading.intent is not None:
        fields[ISSUE_FIELD] = reading.intent
        fields[CONFIDENCE_FIELDS["intent"]] = round(reading.confidence, 4)
    fields[SENTIMENT_FIELD] = reading.sentiment
    fields[RISK_FIELD] = at_risk
    fields[CONFIDENCE_FIELDS["risk"]] = reading.risk.confidence
    fields[MOMENTS_FIELD] = _joined(merged_moments)
    fields[KNOWN_ISSUE_FIELD] = _joined(merged_known)
    case.custom_fields = {k: v for k, v in fields.items() if v is not None or k in before_fields}


def _found_tags(case: Case, reading: _Reading) -> set[str]:
    tags = set(case.tags)
    tags.update(f"moment:{m}" for m in reading.moments)
    tags.update(f"known-issue:{k}" for k in reading.known_issues)
    if reading.risk.at_risk:
        tags.add("public-risk")
    return tags


def _route(
    uow: KnowledgeUnit, now: datetime, case: Case, facts: TriageFacts, tags: set[str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The routing rules applied to the case: what they changed, and each match, audited."""
    decision = route(uow.triage.rules(), facts, case.priority)
    applied: dict[str, Any] = {}
    if decision.team is not None and case.team_id is None:
        team = uow.teams.get_by_name(decision.team)
        if team is not None:
            case.team_id = team.id
            applied["team_id"] = team.id
    if decision.priority is not None and decision.priority is not case.priority:
        case.priority = decision.priority
        applied["priority"] = decision.priority.value
    tags.update(decision.tags)
    if decision.sla_policy is not None:
        case.custom_fields["sla_policy"] = decision.sla_policy
        applied["sla_policy"] = decision.sla_policy
    case.set_tags(sorted(tags))
    case.updated_at = max(case.updated_at, now)
    rules_log = []
    for rule, what in decision.matched:
        rules_log.append({"rule_id": rule.id, "name": rule.spec.name, "applied": what})
        publish_change(
            uow,
            SYSTEM,
            now,
            "routing.rule_matched",
            "routing_rule",
            rule.id,
            case_id=case.id,
            after={"rule": rule.spec.name, "applied": what},
        )
    return applied, rules_log


def _record_triaged(case: Case, now: datetime, before: dict[str, Any], triage: CaseTriage) -> None:
    # The case's own event: its trail says what triage found, and the clocks follow the
    # team, priority and SLA policy it routed to.
    case.record_change(
        SYSTEM,
        now,
        before,
        "case.triaged",
        audit_after={
            "intent": triage.intent,
            "intent_confidence": triage.intent_confidence,
            "intent_source": triage.intent_source,
            "sentiment": triage.sentiment,
            "public_risk": triage.public_risk,
            "moments": triage.moments,
            "known_issues": triage.known_issues,
            "language": triage.language,
            "model_version": triage.model_version,
        },
    )


def triage_arrival(
    uow: KnowledgeUnit,
    engine: TriageEngine,
    now: datetime,
    case: Case,
    text: str,
    message_id: int | None,
) -> None:
    """Triage a case on a customer's words as they arrive, inside the caller's unit: at
    once, or with the intent left to the worker's `triage.intent` job when so configured."""
    later = engine.intent_in_worker and engine.intents is not None
    triage_case_in(uow, engine, now, case, text, message_id=message_id, predict_intent=not later)
    if later and uow.triage.active_model_version() is not None:
        assert case.id is not None
        jobs.enqueue(
            uow,
            INTENT_KIND,
            {"case_id": case.id, "message_id": message_id},
            now=now,
            key=f"{INTENT_KIND}:{case.id}:{message_id}",
        )


def event_handlers(engine: TriageEngine) -> tuple[Handler, Handler]:
    """The handlers that triage every new case and every customer message, on any path."""

    def triage_now(
        uow: KnowledgeUnit, now: datetime, case: Case, text: str, message_id: int | None
    ) -> None:
        triage_arrival(uow, engine, now, case, text, message_id)

    def on_case_opened(uow: KnowledgeUnit, event: Event) -> None:
        assert isinstance(event, CaseOpened)
        message = event.message
        if not event.by_customer:
            return
        text = message.body if message is not None else ""
        triage_now(uow, event.at, event.case, text, message.id if message else None)

    def on_message_added(uow: KnowledgeUnit, event: Event) -> None:
        assert isinstance(event, MessageAdded)
        message = event.message
        if message.kind is MessageKind.INBOUND and message.body.strip():
            triage_now(uow, event.at, event.case, message.body, message.id)

    return on_case_opened, on_message_added


def register_triage(registry: HandlerRegistry, engine: TriageEngine) -> None:
    """The worker's half of triage: the intent of a case, read after the request committed.

    A claimed batch of these jobs is read by the model in one call (its batch hook), which
    costs about what one message costs alone; each job then triages its case and records its
    own outcome as before."""
    # Shared by the worker threads of a process; a job that misses its entry predicts alone.
    ahead: Predictions = {}

    def read_intent(ctx: JobContext, payload: dict[str, Any]) -> None:
        predict_intent_later(ctx.uow(), engine, ctx.clock.now(), **payload, predictions=ahead)

    def read_intents(ctx: JobContext, payloads: list[dict[str, Any]]) -> None:
        found = predict_intents(ctx.uow(), engine, payloads)
        # What earlier batches left (their jobs found their case gone) is dropped here.
        ahead.clear()
        ahead.update(found)

    registry.register(INTENT_KIND, read_intent, prepare=read_intents)


def _words_to_read(
    uow: KnowledgeUnit, case_id: int, message_id: int | None
) -> tuple[Case, str] | None:
    """The case and the words a `triage.intent` job reads, or None when it has nothing to do.

    A case triaged since on a later message is left alone: that message's own job reads it."""
    case = uow.cases.get(case_id)
    previous = uow.triage.case_triage(case_id)
    if case is None or previous is None:
        return None  # erased or merged away since
    if previous.intent_source == "agent":
        return None  # an agent's word is not overruled by the model
    if message_id is not None and (previous.message_id or 0) > message_id:
        return None
    text = ""
    if message_id is not None:
        text = next((m.body for m in uow.cases.messages(case_id) if m.id == message_id), "")
    return case, text


def predict_intents(
    uow: KnowledgeUnit, engine: TriageEngine, payloads: list[dict[str, Any]]
) -> Predictions:
    """The intents of a batch of `triage.intent` jobs' words, read by the model in one call
    (outside any transaction), by model version and words."""
    if engine.intents is None:
        return {}
    with uow:
        loaded = engine.intents.active(uow)
        if loaded is None:
            return {}
        version, classifier = loaded
        texts: list[str] = []
        for payload in payloads:
            found = _words_to_read(uow, payload["case_id"], payload.get("message_id"))
            if found is not None:
                texts.append(intent_text(*found))
    unique = list(dict.fromkeys(texts))
    predicted = classifier.predict(unique) if unique else []
    return {(version, text): p for text, p in zip(unique, predicted, strict=True)}


def predict_intent_later(
    uow: KnowledgeUnit,
    engine: TriageEngine,
    now: datetime,
    case_id: int,
    message_id: int | None,
    predictions: Predictions | None = None,
) -> None:
    """Triage the case again with the intent model, on the words that queued the job.

    Run twice (a worker died before marking the job done), it reads the same words to the
    same intent; the trail shows the triage twice."""
    with uow:
        found = _words_to_read(uow, case_id, message_id)
        if found is None:
            return
        case, text = found
        triage_case_in(uow, engine, now, case, text, message_id=message_id, predictions=predictions)
        uow.commit()


@command
def triage_case(
    uow: KnowledgeUnit, engine: TriageEngine, actor: Actor, now: datetime, case_id: int
) -> CaseTriage:
    """Run triage again on a case (its subject and inbound messages), e.g. after a retrain."""
    actor.require(Permission.WRITE_CASES)
    with uow:
        case = must_exist(uow.cases.get(case_id), "case", case_id)
        inbound = [m for m in uow.cases.messages(case_id) if m.kind is MessageKind.INBOUND]
        text = "\n".join(m.body for m in inbound[-3:])
        outcome = triage_case_in(
            uow, engine, now, case, text, message_id=inbound[-1].id if inbound else None
        )
        uow.commit()
        return outcome.triage


def get_case_triage(uow: KnowledgeUnit, actor: Actor, case_id: int) -> CaseTriage:
    actor.require(Permission.READ)
    with uow:
        if uow.cases.get(case_id) is None:
            raise NotFound("case", case_id)
        return must_exist(uow.triage.case_triage(case_id), "triage of case", case_id)
