"""The case lifecycle's commands under one name, for the doors that call several of them.

Each purpose has its module beside this one: escalation and handoffs (`escalation`), repeat
asks (`repeat_asks`), commitments (`commitments`), what every answer is read for (`answers`),
replies to solved and merged cases (`routing`), merge, split and undo (`merge`), the proactive
scan (`proactive`), the settings they share (`options`). The feature package itself stays
empty, so importing its ports loads none of them.
"""

from __future__ import annotations

from caredesk.services.lifecycle.answers import (
    after_outbound,
    event_handler,
)
from caredesk.services.lifecycle.cases import (
    DESK_NOTES,
    live_case,
)
from caredesk.services.lifecycle.commitments import (
    MissedCounts,
    SweepReport,
    list_commitments,
    missed_commitments,
    record_commitment,
    resolve_commitment,
    sweep_commitments,
)
from caredesk.services.lifecycle.escalation import (
    HandoffDraft,
    case_handoffs,
    draft_handoff,
    escalate,
    handoff_facts,
)
from caredesk.services.lifecycle.merge import (
    MergeResult,
    SplitResult,
    UndoResult,
    case_links,
    merge_cases,
    merged_trail,
    split_case,
    undo_link,
)
from caredesk.services.lifecycle.options import (
    LifecycleOptions,
)
from caredesk.services.lifecycle.proactive import (
    PLANNER,
    PROACTIVE_TAG,
    ScanReport,
    list_findings,
    proactive_scan,
)
from caredesk.services.lifecycle.repeat_asks import (
    RepeatAskReport,
    case_repeat_asks,
    known_to_desk,
    repeat_ask_counts,
)
from caredesk.services.lifecycle.routing import (
    link_follow_up,
    route_message,
    takes_reply,
)

__all__ = [
    "DESK_NOTES",
    "PLANNER",
    "PROACTIVE_TAG",
    "HandoffDraft",
    "LifecycleOptions",
    "MergeResult",
    "MissedCounts",
    "RepeatAskReport",
    "ScanReport",
    "SplitResult",
    "SweepReport",
    "UndoResult",
    "after_outbound",
    "case_handoffs",
    "case_links",
    "case_repeat_asks",
    "draft_handoff",
    "escalate",
    "event_handler",
    "handoff_facts",
    "known_to_desk",
    "link_follow_up",
    "list_commitments",
    "list_findings",
    "live_case",
    "merge_cases",
    "merged_trail",
    "missed_commitments",
    "proactive_scan",
    "record_commitment",
    "repeat_ask_counts",
    "resolve_commitment",
    "route_message",
    "split_case",
    "sweep_commitments",
    "takes_reply",
    "undo_link",
]
