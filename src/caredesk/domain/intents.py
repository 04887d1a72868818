"""Intent labels and models as records: what the desk learned from, and what it trained."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from caredesk.domain.errors import ValidationFailed, must_match

_INTENT = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,63}$")
MAX_LABEL_TEXT = 20_000


class LabelSource(StrEnum):
    AGENT = "agent"  # an agent chose or corrected a case's intent
    IMPORT = "import"  # loaded from a file of labelled messages


def check_intent(intent: str) -> str:
    value = intent.strip().lower()
    refusal = f"intent {intent!r} must be 1-64 characters of a-z, 0-9, _ . -"
    return must_match(_INTENT, value, refusal, "intent")


@dataclass(slots=True)
class IntentLabel:
    text: str
    intent: str
    source: LabelSource
    created_by: str
    created_at: datetime
    case_id: int | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        self.intent = check_intent(self.intent)
        self.text = self.text.strip()
        if not self.text:
            raise ValidationFailed("a labelled example needs text", details={"field": "text"})
        self.text = self.text[:MAX_LABEL_TEXT]


@dataclass(slots=True)
class IntentModelInfo:
    version: int
    method: str
    labels: list[str]
    examples: int
    metrics: dict[str, Any]
    trained_at: datetime
    trained_by: str
    active: bool = False


@dataclass(slots=True)
class CaseTriage:
    """What triage concluded for a case, with the confidences behind it."""

    case_id: int
    triaged_at: datetime
    intent: str | None
    intent_confidence: float
    # "model"; "rule" when a fault outweighed the model's grievance (triage.settle_intent);
    # "known_issue", "agent", or "none" when no model is trained yet
    intent_source: str
    sentiment: float
    public_risk: bool
    public_risk_confidence: float
    language: str
    model_version: int | None = None
    message_id: int | None = None
    risk_signals: list[str] = field(default_factory=list)
    moments: list[str] = field(default_factory=list)
    known_issues: list[str] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[dict[str, Any]] = field(default_factory=list)
