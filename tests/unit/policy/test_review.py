"""Four eyes on money: what a new policy changes, which changes wait for a second admin, and
which policies grant nothing at all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from caredesk.adapters.yaml_files import parse_policy
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.policy.model import Policy
from caredesk.domain.policy.review import (
    Effect,
    PolicyChange,
    PolicyChangeStatus,
    PolicyDiff,
    compare,
    grants_nothing,
)
from caredesk.services.engine.policy import packaged_policy_text

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _default() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(packaged_policy_text("default"))
    return data


def _policy(data: dict[str, Any]) -> Policy:
    return parse_policy(yaml.safe_dump(data)).policy


def _found(diff: PolicyDiff) -> dict[str, tuple[str, str | None, str | None, Effect]]:
    return {d.path: (d.change, d.before, d.after, d.effect) for d in diff.differences}


def test_a_policy_that_is_only_a_version_grants_nothing() -> None:
    assert grants_nothing(_policy({"version": "x"})) == ["it declares no remedies"]


def test_remedies_nobody_may_grant_grant_nothing() -> None:
    data = _default()
    data["authority"] = {"viewer": {"per_grant": 100, "per_case": 100, "per_day": 100}}
    assert grants_nothing(_policy(data)) == ["no role has authority to grant any of its remedies"]
    data["authority"] = {"agent": {"per_grant": 9, "per_case": 9, "per_day": 9, "remedies": []}}
    assert grants_nothing(_policy(data)) == ["no role has authority to grant any of its remedies"]


def test_the_packaged_policies_grant_something() -> None:
    for name in ("default", "tau_retail"):
        assert grants_nothing(parse_policy(packaged_policy_text(name)).policy) == []


def test_the_same_policy_changes_nothing() -> None:
    diff = compare(_policy(_default()), _policy({**_default(), "version": "next"}))
    assert diff.differences == ()
    assert not diff.needs_confirmation


def test_raising_a_limit_loosens_and_shows_before_and_after() -> None:
    data = _default()
    data["authority"]["agent"]["per_grant"] = 500
    diff = compare(_policy(_default()), _policy(data))
    assert _found(diff) == {
        "authority.agent.per_grant": ("changed", "100", "500", Effect.LOOSENS),
    }
    assert diff.needs_confirmation
    assert str(diff.differences[0]) == "authority.agent.per_grant: 100 → 500 [loosens]"


def test_lowering_limits_and_caps_only_tightens() -> None:
    data = _default()
    data["authority"]["agent"]["per_day"] = 300
    data["caps"]["per_order"]["extra"] = 10
    data["guardrails"]["max_grants_per_customer_90d"] = 3
    data["budgets"][0]["amount"] = 100
    data["approvers"]["agent"] = "admin"
    diff = compare(_policy(_default()), _policy(data))
    assert {d.effect for d in diff.differences} == {Effect.TIGHTENS}
    assert len(diff.differences) == 5
    assert not diff.needs_confirmation


def test_removing_a_remedy_needs_confirmation_and_adding_one_too() -> None:
    before = _default()
    after = _default()
    removed = after["remedies"].pop()
    for limit in after["authority"].values():
        if limit.get("remedies") and removed["id"] in limit["remedies"]:
            limit["remedies"].remove(removed["id"])
    after["remedies"].append({"id": "mug", "kind": "gesture", "label": "A mug"})
    diff = compare(_policy(before), _policy(after))
    assert diff.remedies("removed") == [removed["id"]]
    assert diff.remedies("added") == ["mug"]
    found = _found(diff)
    assert found[f"remedies.{removed['id']}"][3] is Effect.REMOVES
    assert found["remedies.mug"] == ("added", None, "A mug", Effect.LOOSENS)
    assert diff.needs_confirmation


@pytest.mark.parametrize(
    ("change", "path", "effect"),
    [
        (
            lambda d: d["caps"]["per_case_issue"].update(value_share=2),
            "caps.per_case_issue.value_share",
            Effect.LOOSENS,
        ),
        (
            lambda d: d["guardrails"].update(max_refund_ratio=0.9),
            "guardrails.max_refund_ratio",
            Effect.LOOSENS,
        ),
        (
            lambda d: d["guardrails"].update(hard_rules=[]),
            "guardrails.hard_rules.hard.no_grants_on_closed_case",
            Effect.LOOSENS,
        ),
        (lambda d: d.update(budgets=[]), "budgets.*.month", Effect.LOOSENS),
        (lambda d: d["approvers"].update(agent="agent"), "approvers.agent", Effect.LOOSENS),
        (
            lambda d: d["authority"]["viewer"].update(remedies=None),
            "authority.viewer.remedies",
            Effect.LOOSENS,
        ),
        (lambda d: d["authority"].pop("lead"), "authority.lead", Effect.TIGHTENS),
        (lambda d: d["costs"].update(shipping=1), "costs.shipping", Effect.UNCLEAR),
        (lambda d: d.update(name="renamed"), "name", Effect.WORDING),
    ],
)
def test_each_kind_of_change_is_classified(change: Any, path: str, effect: Effect) -> None:
    data = _default()
    change(data)
    diff = compare(_policy(_default()), _policy(data))
    assert _found(diff)[path][3] is effect
    assert diff.needs_confirmation is (effect not in (Effect.TIGHTENS, Effect.WORDING))


def test_a_role_given_authority_loosens() -> None:
    before = _default()
    before["authority"].pop("viewer")
    diff = compare(_policy(before), _policy(_default()))
    assert _found(diff)["authority.viewer"][0:2] == ("added", None)
    assert _found(diff)["authority.viewer"][3] is Effect.LOOSENS


def test_a_rule_taken_off_a_remedy_loosens_and_one_added_tightens() -> None:
    data = _default()
    remedy = next(r for r in data["remedies"] if r.get("rules"))
    dropped = remedy["rules"].pop(0)
    diff = compare(_policy(_default()), _policy(data))
    assert _found(diff)[f"remedies.{remedy['id']}.rules.{dropped}"][3] is Effect.LOOSENS
    diff = compare(_policy(data), _policy(_default()))
    assert _found(diff)[f"remedies.{remedy['id']}.rules.{dropped}"][3] is Effect.TIGHTENS
    assert not diff.needs_confirmation


def test_the_diff_survives_storage() -> None:
    data = _default()
    data["authority"]["agent"]["per_case"] = 900
    diff = compare(_policy(_default()), _policy(data))
    assert PolicyDiff.of(diff.as_list()) == diff


def _change(**fields: Any) -> PolicyChange:
    values: dict[str, Any] = {
        "id": 1,
        "version": "2",
        "name": "p",
        "digest": "new",
        "text": "version: 2",
        "base_version": "1",
        "base_digest": "old",
        "diff": PolicyDiff(),
        "proposed_by": "agent:1",
        "proposed_at": NOW,
    }
    return PolicyChange(**{**values, **fields})


def test_the_proposer_cannot_confirm_their_own_change() -> None:
    change = _change()
    with pytest.raises(DomainError) as refused:
        change.confirm("agent:1", "old", NOW, "")
    assert refused.value.code is ErrorCode.OWN_REQUEST
    assert change.status is PolicyChangeStatus.PENDING


def test_a_change_against_a_policy_no_longer_in_force_is_stale() -> None:
    change = _change()
    with pytest.raises(DomainError) as refused:
        change.confirm("agent:2", "other", NOW, "")
    assert refused.value.code is ErrorCode.POLICY_STALE
    assert change.status is PolicyChangeStatus.PENDING


def test_a_change_is_decided_once() -> None:
    change = _change()
    change.confirm("agent:2", "old", NOW, "fine")
    assert (change.status, change.decided_by, change.note) == (
        PolicyChangeStatus.CONFIRMED,
        "agent:2",
        "fine",
    )
    with pytest.raises(DomainError) as refused:
        change.reject("agent:3", NOW, "")
    assert refused.value.code is ErrorCode.POLICY_CHANGE_DECIDED
