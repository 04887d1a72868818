"""Triage: what a case is about, how the customer feels, what is at stake, where it goes.

Runs on every new case and inbound message inside the unit of work that stores it, and
writes what it learned where the planner reads facts (services/engine/facts.py): the custom
fields `issue_type`, `sentiment`, `public_risk`, `moments`, `known_issue`, and the tags
`moment:<name>`, `public-risk`, `known-issue:<key>`. Confidences go to the case's triage
record. Routing rules (data) then set team, priority, tags and SLA policy, each match
audited.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caredesk.domain.agents import SYSTEM, Actor, Permission
from caredesk.domain.cases import Case, CaseOpened, Channel, MessageAdded, MessageKind
from caredesk.domain.errors import DomainError, ErrorCode, NotFound, ValidationFailed
from caredesk.domain.events import Changed, Event
from caredesk.domain.intents import (
    CaseTriage,
    IntentLabel,
    IntentModelInfo,
    LabelSource,
    check_intent,
)
from caredesk.domain.triage import (
    MOMENT_PATTERNS,
    RoutingRule,
    RoutingRuleSpec,
    TriageFacts,
    language,
    moments,
    public_risk,
    route,
    settle_intent,
)
from caredesk.services.core.commands import command
from caredesk.services.core.messagebus import Handler
from caredesk.services.core.ports import UnitOfWork, UnitOfWorkFactory
from caredesk.services.engine.facts import (
    ISSUE_FIELD,
    KNOWN_ISSUE_FIELD,
    MOMENTS_FIELD,
    RISK_FIELD,
    SENTIMENT_FIELD,
)
from caredesk.services.knowledge.ports import (
    IntentClassifier,
    IntentTrainer,
    SentimentAnalyzer,
)

KNOWN_ISSUE_INTENT = "known_issue"
CONFIDENCE_FIELDS = {
    "intent": "issue_type_confidence",
    "risk": "public_risk_confidence",
}
MIN_EXAMPLES_PER_INTENT = 1
log = logging.getLogger("caredesk.triage")


class ClassifierCache:
    """The active intent model, loaded once per version and shared by every request."""

    def __init__(self, trainer: IntentTrainer) -> None:
        self.trainer = trainer
        self._lock = threading.Lock()
        self._version: int | None = None
        self._classifier: IntentClassifier | None = None
        self._unreadable: int | None = None

    def active(self, uow: UnitOfWork) -> tuple[int, IntentClassifier] | None:
        """The model in force, or None when there is none or it cannot be read.

        An unreadable model (written by another release, or damaged) must not stop cases
        from being opened: triage carries on without an intent, says so once in the log,
        and does not try that version again until another is put in force.
        """
        info = uow.triage.active_model()
        if info is None or info.version == self._unreadable:
            return None
        with self._lock:
            if info.version != self._version or self._classifier is None:
                artifact = uow.triage.model_artifact(info.version)
                if artifact is None:
                    return None
                try:
                    self._classifier = self.trainer.load(artifact)
                except ValueError as exc:
                    self._unreadable = info.version
                    log.error(
                        "intent model %s cannot be read; triage runs without intents until "
                        "another model is trained or activated: %s",
                        info.version,
                        exc,
                    )
                    return None
                self._version = info.version
            return self._version, self._classifier


@dataclass
class TriageEngine:
    """What triage needs beyond the database; `intents` is None when the model is off."""

    sentiment: SentimentAnalyzer
    intents: ClassifierCache | None = None
    unavailable_reason: str | None = None


@dataclass(frozen=True, slots=True)
class TriageOutcome:
    triage: CaseTriage
    case: Case
    applied: dict[str, Any] = field(default_factory=dict)


def _joined(values: list[str]) -> str | None:
    return ",".join(values) if values else None


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def _owned_items(uow: UnitOfWork, case: Case) -> tuple[set[str], set[str]]:
    products: set[str] = set()
    variants: set[str] = set()
    for order in uow.orders.for_customer(case.customer_id):
        for line in order.lines:
            products.add(line.product_id)
            variants.add(line.variant_id)
    return products, variants


def matching_known_issues(uow: UnitOfWork, case: Case, text: str) -> list[str]:
    products, variants = _owned_items(uow, case)
    if not products and not variants:
        return []
    issues = uow.known_issues.affecting(products, variants)
    if not issues:
        return []
    # A customer tells the story over several messages ("it stopped after the upgrade",
    # then "I'm on macOS 15"): the conditions may be met by the conversation as a whole.
    assert case.id is not None
    inbound = [m.body for m in uow.cases.messages(case.id) if m.kind is MessageKind.INBOUND]
    if text not in inbound:
        inbound.append(text)
    haystack = "\n".join([case.subject, *inbound])
    return [i.key for i in issues if i.matches(products, variants, haystack)]


def triage_case_in(
    uow: UnitOfWork,
    engine: TriageEngine,
    now: datetime,
    case: Case,
    text: str,
    *,
    message_id: int | None = None,
) -> TriageOutcome:
    """Triage `case` on `text` inside the caller's open unit of work (the caller commits)."""
    assert case.id is not None
    before = case.snapshot()
    previous = uow.triage.case_triage(case.id)
    full_text = f"{case.subject}\n{text}".strip()
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
    elif engine.intents is not None:
        loaded = engine.intents.active(uow)
        if loaded is not None:
            model_version, classifier = loaded
            predicted, confidence = classifier.predict([full_text])[0]
            earlier = case.custom_fields.get(ISSUE_FIELD)
            intent = settle_intent(
                predicted, earlier if isinstance(earlier, str) else None, full_text
            )
            source = "model" if intent == predicted else "rule"
    known = matching_known_issues(uow, case, text)
    fields = dict(case.custom_fields)
    before_fields = dict(fields)
    merged_moments = sorted({*_listed(fields.get(MOMENTS_FIELD)), *found_moments})
    merged_known = sorted({*_listed(fields.get(KNOWN_ISSUE_FIELD)), *known})
    if known and source != "agent":
        intent, confidence, source = KNOWN_ISSUE_INTENT, 1.0, "known_issue"
    if intent is not None:
        fields[ISSUE_FIELD] = intent
        fields[CONFIDENCE_FIELDS["intent"]] = round(confidence, 4)
    fields[SENTIMENT_FIELD] = polarity
    at_risk = risk.at_risk or bool(previous and previous.public_risk)
    fields[RISK_FIELD] = at_risk
    fields[CONFIDENCE_FIELDS["risk"]] = risk.confidence
    fields[MOMENTS_FIELD] = _joined(merged_moments)
    fields[KNOWN_ISSUE_FIELD] = _joined(merged_known)
    case.custom_fields = {k: v for k, v in fields.items() if v is not None or k in before_fields}
    tags = set(case.tags)
    tags.update(f"moment:{m}" for m in found_moments)
    tags.update(f"known-issue:{k}" for k in known)
    if risk.at_risk:
        tags.add("public-risk")
    customer = uow.customers.get(case.customer_id)
    facts = TriageFacts(
        intent=intent,
        intent_confidence=confidence,
        sentiment=polarity,
        public_risk=at_risk,
        moments=tuple(merged_moments),
        tier=customer.tier if customer else None,
        known_issue=bool(merged_known),
        channel=case.channel.value,
        language=lang,
    )
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
        uow.publish(
            Changed(
                actor=SYSTEM,
                at=now,
                action="routing.rule_matched",
                entity_type="routing_rule",
                entity_id=rule.id,
                case_id=case.id,
                after={"rule": rule.spec.name, "applied": what},
            )
        )
    triage = CaseTriage(
        case_id=case.id,
        triaged_at=now,
        intent=intent,
        intent_confidence=round(confidence, 4),
        intent_source=source,
        sentiment=polarity,
        public_risk=at_risk,
        public_risk_confidence=risk.confidence,
        language=lang,
        model_version=model_version,
        message_id=message_id,
        risk_signals=list(risk.signals),
        moments=merged_moments,
        known_issues=merged_known,
        rules=rules_log,
    )
    uow.triage.save_case_triage(triage)
    # The case's own event: its trail says what triage found, and the clocks follow the
    # team, priority and SLA policy it routed to.
    case.record_change(
        SYSTEM,
        now,
        before,
        "case.triaged",
        audit_after={
            "intent": intent,
            "intent_confidence": triage.intent_confidence,
            "intent_source": source,
            "sentiment": polarity,
            "public_risk": at_risk,
            "moments": merged_moments,
            "known_issues": merged_known,
            "language": lang,
            "model_version": model_version,
        },
    )
    uow.cases.save(case)
    return TriageOutcome(triage, case, applied)


def event_handlers(engine: TriageEngine) -> tuple[Handler, Handler]:
    """The handlers that triage every new case and every customer message, on any path."""

    def on_case_opened(uow: UnitOfWork, event: Event) -> None:
        assert isinstance(event, CaseOpened)
        message = event.message
        if not event.by_customer:
            return
        text = message.body if message is not None else ""
        triage_case_in(
            uow, engine, event.at, event.case, text, message_id=message.id if message else None
        )

    def on_message_added(uow: UnitOfWork, event: Event) -> None:
        assert isinstance(event, MessageAdded)
        message = event.message
        if message.kind is MessageKind.INBOUND and message.body.strip():
            triage_case_in(uow, engine, event.at, event.case, message.body, message_id=message.id)

    return on_case_opened, on_message_added


@command
def triage_case(
    uow: UnitOfWork, engine: TriageEngine, actor: Actor, now: datetime, case_id: int
) -> CaseTriage:
    """Run triage again on a case (its subject and inbound messages), e.g. after a retrain."""
    actor.require(Permission.WRITE_CASES)
    with uow:
        case = uow.cases.get(case_id)
        if case is None:
            raise NotFound("case", case_id)
        inbound = [m for m in uow.cases.messages(case_id) if m.kind is MessageKind.INBOUND]
        text = "\n".join(m.body for m in inbound[-3:])
        outcome = triage_case_in(
            uow, engine, now, case, text, message_id=inbound[-1].id if inbound else None
        )
        uow.commit()
        return outcome.triage


def get_case_triage(uow: UnitOfWork, actor: Actor, case_id: int) -> CaseTriage:
    actor.require(Permission.READ)
    with uow:
        if uow.cases.get(case_id) is None:
            raise NotFound("case", case_id)
        triage = uow.triage.case_triage(case_id)
        if triage is None:
            raise NotFound("triage of case", case_id)
        return triage


@command
def correct_intent(
    uow: UnitOfWork, actor: Actor, now: datetime, case_id: int, intent: str
) -> CaseTriage:
    """An agent sets the case's intent: the case changes and the desk gains a label."""
    actor.require(Permission.WRITE_CASES)
    intent = check_intent(intent)
    with uow:
        case = uow.cases.get(case_id)
        if case is None:
            raise NotFound("case", case_id)
        messages = uow.cases.messages(case_id)
        inbound = [m.body for m in messages if m.kind is MessageKind.INBOUND]
        text = "\n".join([case.subject, *inbound[:2]])
        before = case.snapshot()
        case.custom_fields = {
            **case.custom_fields,
            ISSUE_FIELD: intent,
            CONFIDENCE_FIELDS["intent"]: 1.0,
        }
        case.updated_at = now
        uow.cases.save(case)
        uow.triage.add_label(
            IntentLabel(
                text=text,
                intent=intent,
                source=LabelSource.AGENT,
                created_by=actor.ref,
                created_at=now,
                case_id=case_id,
            )
        )
        triage = uow.triage.case_triage(case_id) or CaseTriage(
            case_id=case_id,
            triaged_at=now,
            intent=None,
            intent_confidence=0.0,
            intent_source="none",
            sentiment=0.0,
            public_risk=False,
            public_risk_confidence=0.0,
            language="und",
        )
        previous_intent = triage.intent
        triage.intent, triage.intent_confidence, triage.intent_source = intent, 1.0, "agent"
        triage.triaged_at = now
        uow.triage.save_case_triage(triage)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="case.intent_corrected",
                entity_type="case",
                entity_id=case_id,
                case_id=case_id,
                before={
                    "intent": previous_intent,
                    **{"issue_type": before["custom_fields"].get(ISSUE_FIELD)},
                },
                after={"intent": intent},
            )
        )
        uow.commit()
        return triage


@command
def add_labels(
    uow: UnitOfWork, actor: Actor, now: datetime, examples: list[tuple[str, str]]
) -> int:
    """Labelled messages from a file (text, intent); every one is checked before any lands."""
    actor.require(Permission.MANAGE_POLICY)
    labels = []
    for number, (text, intent) in enumerate(examples, start=1):
        try:
            labels.append(
                IntentLabel(
                    text=text,
                    intent=intent,
                    source=LabelSource.IMPORT,
                    created_by=actor.ref,
                    created_at=now,
                )
            )
        except ValidationFailed as exc:
            raise ValidationFailed(f"example {number}: {exc.message}") from exc
    with uow:
        for label in labels:
            uow.triage.add_label(label)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="intent_labels.imported",
                entity_type="intent_labels",
                entity_id="import",
                after={"count": len(labels)},
            )
        )
        uow.commit()
    return len(labels)


def train_intent_model(
    uow_factory: UnitOfWorkFactory,
    trainer: IntentTrainer,
    actor: Actor,
    now: datetime,
    *,
    seed: int = 0,
    only_if_new_labels: bool = False,
) -> IntentModelInfo | None:
    """Train a new version from every label the desk has, and put it in force.

    Returns None when `only_if_new_labels` and nothing was labelled since the active model.
    """
    actor.require(Permission.MANAGE_POLICY)
    with uow_factory() as uow:
        labels = uow.triage.labels()
        active = uow.triage.active_model()
    last_label = max((label.id or 0 for label in labels), default=0)
    if (
        only_if_new_labels
        and active is not None
        and active.metrics.get("last_label_id") == last_label
    ):
        return None
    counts = Counter(label.intent for label in labels)
    if len(counts) < 2:
        raise DomainError(
            "training needs labelled examples of at least two intents: correct some cases' "
            "intents or run `caredesk triage labels import FILE.csv`",
            code=ErrorCode.NOT_ENOUGH_LABELS,
            details={"intents": dict(counts)},
        )
    trained = trainer.train(
        [label.text for label in labels], [label.intent for label in labels], seed
    )
    with uow_factory() as uow:
        info = IntentModelInfo(
            version=uow.triage.next_model_version(),
            method=trained.method,
            labels=trained.labels,
            examples=len(labels),
            metrics={**trained.metrics, "last_label_id": last_label, "per_intent": dict(counts)},
            trained_at=now,
            trained_by=actor.ref,
            active=True,
        )
        uow.triage.add_model(info, trained.artifact)
        uow.triage.activate_model(info.version)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="intent_model.trained",
                entity_type="intent_model",
                entity_id=info.version,
                after={
                    "method": info.method,
                    "examples": info.examples,
                    "labels": len(info.labels),
                },
            )
        )
        uow.commit()
    return info


def list_models(uow: UnitOfWork, actor: Actor) -> list[IntentModelInfo]:
    actor.require(Permission.READ)
    with uow:
        return uow.triage.models()


@command
def activate_model(uow: UnitOfWork, actor: Actor, now: datetime, version: int) -> None:
    """Put an earlier (or later) model version back in force."""
    actor.require(Permission.MANAGE_POLICY)
    with uow:
        if not any(m.version == version for m in uow.triage.models()):
            raise NotFound("intent model", version)
        uow.triage.activate_model(version)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="intent_model.activated",
                entity_type="intent_model",
                entity_id=version,
            )
        )
        uow.commit()


# Routing rules: data, edited through the API and the CLI, every change audited.


def list_rules(uow: UnitOfWork, actor: Actor) -> list[RoutingRule]:
    actor.require(Permission.READ)
    with uow:
        return uow.triage.rules()


def _check_rule_refs(uow: UnitOfWork, spec: RoutingRuleSpec) -> None:
    """A rule that names what does not exist (a team nobody created, a moment or channel
    triage never reports) would silently never do what its author meant."""
    when = spec.when
    for field_name, given, known in (
        ("when.moments_any", when.moments_any, sorted(MOMENT_PATTERNS)),
        ("when.channels", when.channels, [c.value for c in Channel]),
    ):
        unknown = sorted(set(given or ()) - set(known))
        if unknown:
            raise ValidationFailed(
                f"{field_name} names what triage never reports: {', '.join(unknown)}",
                details={"field": field_name, "known": known},
            )
    team = spec.then.team
    if team is not None and uow.teams.get_by_name(team) is None:
        raise ValidationFailed(
            f"no team is called {team!r}: create it first, or correct the rule",
            details={"field": "then.team", "teams": sorted(t.name for t in uow.teams.all())},
        )


@command
def create_rule(
    uow: UnitOfWork, actor: Actor, now: datetime, spec: RoutingRuleSpec, position: int | None
) -> RoutingRule:
    actor.require(Permission.MANAGE_POLICY)
    with uow:
        _check_rule_refs(uow, spec)
        rules = uow.triage.rules()
        at = (
            position if position is not None else (max((r.position for r in rules), default=0) + 10)
        )
        rule = RoutingRule(id=None, position=at, spec=spec)
        uow.triage.add_rule(rule, actor.ref, now)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="routing_rule.created",
                entity_type="routing_rule",
                entity_id=rule.id,
                after={"position": at, **spec.model_dump(mode="json")},
            )
        )
        uow.commit()
        return rule


@command
def update_rule(
    uow: UnitOfWork,
    actor: Actor,
    now: datetime,
    rule_id: int,
    *,
    expected_version: int,
    spec: RoutingRuleSpec,
    position: int | None,
) -> RoutingRule:
    actor.require(Permission.MANAGE_POLICY)
    with uow:
        rule = uow.triage.get_rule(rule_id)
        if rule is None:
            raise NotFound("routing rule", rule_id)
        if rule.version != expected_version:
            raise DomainError(
                f"routing rule {rule_id} was changed by someone else",
                code=ErrorCode.VERSION_CONFLICT,
                details={"current_version": rule.version, "your_version": expected_version},
            )
        _check_rule_refs(uow, spec)
        before = {"position": rule.position, **rule.spec.model_dump(mode="json")}
        rule.spec = spec
        if position is not None:
            rule.position = position
        uow.triage.save_rule(rule, actor.ref, now)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="routing_rule.updated",
                entity_type="routing_rule",
                entity_id=rule_id,
                before=before,
                after={"position": rule.position, **spec.model_dump(mode="json")},
            )
        )
        uow.commit()
        return rule


@command
def delete_rule(uow: UnitOfWork, actor: Actor, now: datetime, rule_id: int) -> None:
    actor.require(Permission.MANAGE_POLICY)
    with uow:
        rule = uow.triage.get_rule(rule_id)
        if rule is None:
            raise NotFound("routing rule", rule_id)
        uow.triage.delete_rule(rule_id)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="routing_rule.deleted",
                entity_type="routing_rule",
                entity_id=rule_id,
                before={"position": rule.position, **rule.spec.model_dump(mode="json")},
            )
        )
        uow.commit()
