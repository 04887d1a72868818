"""Triage: what a case is about, how the customer feels, what is at stake, where it goes.

Runs on every new case and inbound message inside the unit of work that stores it, and
writes what it learned where the planner reads facts (services/engine/facts.py): the custom
fields `issue_type`, `sentiment`, `public_risk`, `moments`, `known_issue`, and the tags
`moment:<name>`, `public-risk`, `known-issue:<key>`. Confidences go to the case's triage
record. Routing rules (data) then set team, priority, tags and SLA policy, each match
audited.

Each part has its module: the triage of a case (`case_triage`), the intent model and its
labels (`intent_model`), routing rules (`routing_rules`), what triage runs with (`engine`).
This package names them all.
"""

from __future__ import annotations

from caredesk.services.knowledge.triage.case_triage import (
    CONFIDENCE_FIELDS,
    INTENT_KIND,
    KNOWN_ISSUE_INTENT,
    TriageOutcome,
    event_handlers,
    get_case_triage,
    matching_known_issues,
    predict_intent_later,
    register_triage,
    triage_case,
    triage_case_in,
)
from caredesk.services.knowledge.triage.engine import (
    ClassifierCache,
    TriageEngine,
)
from caredesk.services.knowledge.triage.intent_model import (
    MIN_EXAMPLES_PER_INTENT,
    activate_model,
    add_labels,
    correct_intent,
    list_models,
    train_intent_model,
)
from caredesk.services.knowledge.triage.routing_rules import (
    create_rule,
    delete_rule,
    list_rules,
    update_rule,
)

__all__ = [
    "CONFIDENCE_FIELDS",
    "INTENT_KIND",
    "KNOWN_ISSUE_INTENT",
    "MIN_EXAMPLES_PER_INTENT",
    "ClassifierCache",
    "TriageEngine",
    "TriageOutcome",
    "activate_model",
    "add_labels",
    "correct_intent",
    "create_rule",
    "delete_rule",
    "event_handlers",
    "get_case_triage",
    "list_models",
    "list_rules",
    "matching_known_issues",
    "predict_intent_later",
    "register_triage",
    "train_intent_model",
    "triage_case",
    "triage_case_in",
    "update_rule",
]
