"""The intent model: labels from agents' corrections and from files, training, its version."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.cases import Case, MessageKind
from caredesk.domain.errors import DomainError, ErrorCode, NotFound, ValidationFailed, must_exist
from caredesk.domain.intents import (
    CaseTriage,
    IntentLabel,
    IntentModelInfo,
    LabelSource,
    check_intent,
)
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.reads import read
from caredesk.services.engine.facts import ISSUE_FIELD
from caredesk.services.knowledge.ports import IntentTrainer
from caredesk.services.knowledge.triage.case_triage import CONFIDENCE_FIELDS
from caredesk.services.knowledge.unit import KnowledgeUnit

MIN_EXAMPLES_PER_INTENT = 1


def _label_by(
    actor: Actor,
    now: datetime,
    text: str,
    intent: str,
    source: LabelSource,
    case_id: int | None = None,
) -> IntentLabel:
    """A label the actor gives now: the intent `text` asks for."""
    return IntentLabel(
        text=text,
        intent=intent,
        source=source,
        created_by=actor.ref,
        created_at=now,
        case_id=case_id,
    )


@command
def correct_intent(
    uow: KnowledgeUnit, actor: Actor, now: datetime, case_id: int, intent: str
) -> CaseTriage:
    """An agent sets the case's intent: the case changes and the desk gains a label."""
    actor.require(Permission.WRITE_CASES)
    intent = check_intent(intent)
    with uow:
        case = must_exist(uow.cases.get(case_id), "case", case_id)
        text = _labelled_text(uow, case)
        before = case.snapshot()
        case.custom_fields = {
            **case.custom_fields,
            ISSUE_FIELD: intent,
            CONFIDENCE_FIELDS["intent"]: 1.0,
        }
        case.updated_at = now
        uow.cases.save(case)
        uow.triage.add_label(_label_by(actor, now, text, intent, LabelSource.AGENT, case_id))
        triage = uow.triage.case_triage(case_id) or _untriaged(case_id, now)
        previous_intent = triage.intent
        triage.intent, triage.intent_confidence, triage.intent_source = intent, 1.0, "agent"
        triage.triaged_at = now
        uow.triage.save_case_triage(triage)
        publish_change(
            uow,
            actor,
            now,
            "case.intent_corrected",
            "case",
            case_id,
            case_id=case_id,
            before={
                "intent": previous_intent,
                **{"issue_type": before["custom_fields"].get(ISSUE_FIELD)},
            },
            after={"intent": intent},
        )
        uow.commit()
        return triage


def _labelled_text(uow: KnowledgeUnit, case: Case) -> str:
    """What a label learns from: the subject and the customer's first two messages."""
    assert case.id is not None
    inbound = [m.body for m in uow.cases.messages(case.id) if m.kind is MessageKind.INBOUND]
    return "\n".join([case.subject, *inbound[:2]])


def _untriaged(case_id: int, now: datetime) -> CaseTriage:
    """The triage record of a case triage never saw (opened by the desk, say)."""
    return CaseTriage(
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


@command
def add_labels(
    uow: KnowledgeUnit, actor: Actor, now: datetime, examples: list[tuple[str, str]]
) -> int:
    """Labelled messages from a file (text, intent); every one is checked before any lands."""
    actor.require(Permission.MANAGE_POLICY)
    labels = []
    for number, (text, intent) in enumerate(examples, start=1):
        try:
            labels.append(_label_by(actor, now, text, intent, LabelSource.IMPORT))
        except ValidationFailed as exc:
            raise ValidationFailed(f"example {number}: {exc.message}") from exc
    with uow:
        for label in labels:
            uow.triage.add_label(label)
        publish_change(
            uow,
            actor,
            now,
            "intent_labels.imported",
            "intent_labels",
            "import",
            after={"count": len(labels)},
        )
        uow.commit()
    return len(labels)


def train_intent_model(
    uow_factory: Callable[[], KnowledgeUnit],
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
    counts = _intent_counts(labels)
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
        publish_change(
            uow,
            actor,
            now,
            "intent_model.trained",
            "intent_model",
            info.version,
            after={
                "method": info.method,
                "examples": info.examples,
                "labels": len(info.labels),
            },
        )
        uow.commit()
    return info


def _intent_counts(labels: list[IntentLabel]) -> Counter[str]:
    """Examples per intent; a model needs at least two intents to tell apart."""
    counts = Counter(label.intent for label in labels)
    if len(counts) < 2:
        raise DomainError(
            "training needs labelled examples of at least two intents: correct some cases' "
            "intents or run `caredesk triage labels import FILE.csv`",
            code=ErrorCode.NOT_ENOUGH_LABELS,
            details={"intents": dict(counts)},
        )
    return counts


def list_models(uow: KnowledgeUnit, actor: Actor) -> list[IntentModelInfo]:
    return read(uow, actor, Permission.READ, lambda u: u.triage.models())


@command
def activate_model(uow: KnowledgeUnit, actor: Actor, now: datetime, version: int) -> None:
    """Put an earlier (or later) model version back in force."""
    actor.require(Permission.MANAGE_POLICY)
    with uow:
        if not any(m.version == version for m in uow.triage.models()):
            raise NotFound("intent model", version)
        uow.triage.activate_model(version)
        publish_change(uow, actor, now, "intent_model.activated", "intent_model", version)
        uow.commit()
