"""Four eyes on money: what a new policy changes against the one in force, and who agrees.

A policy decides how much money agents move without asking anyone. A file that grants
nothing, or a change that gives agents more room, is therefore never put in force by one
admin alone: the first is refused unless forced, the second waits as a pending change until
a second admin confirms it. What only tightens goes in at once.

The comparison is conservative: every difference is classified, and whatever cannot be
shown to tighten (or to be wording only) counts as needing a second pair of eyes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.policy.model import ROLES, AuthorityLimit, Policy, RemedyDef


class Effect(StrEnum):
    LOOSENS = "loosens"  # more room to grant: a limit, a cap or a budget raised, a rule gone
    REMOVES = "removes"  # something a customer could get is gone: a remedy, a program
    UNCLEAR = "unclear"  # changed, in a direction no comparison can tell reliably
    TIGHTENS = "tightens"
    WORDING = "wording"  # labels, descriptions, messages: nothing granted changes


NEEDS_CONFIRMATION = frozenset({Effect.LOOSENS, Effect.REMOVES, Effect.UNCLEAR})


@dataclass(frozen=True, slots=True)
class Difference:
    """One thing the new policy changes, as an admin reads it: `authority.agent.per_grant`
    changed from 100 to 500, which loosens."""

    path: str
    change: str  # added, removed, changed
    before: str | None
    after: str | None
    effect: Effect

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "change": self.change,
            "before": self.before,
            "after": self.after,
            "effect": self.effect.value,
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> Difference:
        return cls(
            path=str(data["path"]),
            change=str(data["change"]),
            before=data.get("before"),
            after=data.get("after"),
            effect=Effect(data["effect"]),
        )

    def __str__(self) -> str:
        if self.change == "added":
            what = f"added: {self.after}" if self.after else "added"
        elif self.change == "removed":
            what = f"removed (was {self.before})" if self.before else "removed"
        else:
            what = f"{self.before} → {self.after}"
        return f"{self.path}: {what} [{self.effect.value}]"


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    differences: tuple[Difference, ...] = ()

    @property
    def needs_confirmation(self) -> bool:
        return any(d.effect in NEEDS_CONFIRMATION for d in self.differences)

    def remedies(self, change: str) -> list[str]:
        """The ids of the remedies added or removed."""
        prefix = "remedies."
        return [
            d.path.removeprefix(prefix)
            for d in self.differences
            if d.change == change and d.path.startswith(prefix) and d.path.count(".") == 1
        ]

    def as_list(self) -> list[dict[str, Any]]:
        return [d.as_dict() for d in self.differences]

    @classmethod
    def of(cls, items: list[dict[str, Any]]) -> PolicyDiff:
        return cls(tuple(Difference.of(i) for i in items))


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value) if value else "none"
    return str(value)


class _Diff:
    def __init__(self) -> None:
        self.items: list[Difference] = []

    def add(self, path: str, change: str, before: Any, after: Any, effect: Effect) -> None:
        self.items.append(
            Difference(
                path,
                change,
                None if change == "added" else _text(before),
                None if change == "removed" else _text(after),
                effect,
            )
        )

    def amount(self, path: str, before: Decimal | int, after: Decimal | int) -> None:
        """A number whose growth means more room to grant."""
        if before != after:
            effect = Effect.LOOSENS if after > before else Effect.TIGHTENS
            self.add(path, "changed", before, after, effect)

    def optional_max(self, path: str, before: Decimal | None, after: Decimal | None) -> None:
        """A ceiling where none means no ceiling at all."""
        if before == after:
            return
        if before is None or (after is not None and after < before):
            self.add(path, "changed", before, after, Effect.TIGHTENS)
        else:
            self.add(path, "changed", before, after, Effect.LOOSENS)

    def ids(
        self, path: str, before: list[str], after: list[str], gone: Effect, new: Effect
    ) -> None:
        """A list of ids: each one gone or new is its own difference."""
        for removed in sorted(set(before) - set(after)):
            self.add(f"{path}.{removed}", "removed", removed, None, gone)
        for added in sorted(set(after) - set(before)):
            self.add(f"{path}.{added}", "added", None, added, new)

    def flag(self, path: str, before: bool, after: bool, looser: bool) -> None:
        """A yes/no where `looser` is the value that grants more."""
        if before != after:
            self.add(
                path,
                "changed",
                before,
                after,
                Effect.LOOSENS if after == looser else Effect.TIGHTENS,
            )

    def other(self, path: str, before: Any, after: Any, effect: Effect = Effect.UNCLEAR) -> None:
        if before != after:
            self.add(path, "changed", _flat(before), _flat(after), effect)


def _flat(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_defaults=False)
    return value


def _leaves(prefix: str, value: Any) -> dict[str, Any]:
    """A nested section as dotted paths to its values, for a readable before → after."""
    dumped = _flat(value)
    if isinstance(dumped, dict):
        found: dict[str, Any] = {}
        for key, inner in dumped.items():
            found.update(_leaves(f"{prefix}.{key}", inner))
        return found
    return {prefix: dumped}


def _section(diff: _Diff, name: str, before: Any, after: Any) -> None:
    """A section whose changes move costs, value or ranking: each is for a second admin."""
    old, new = _leaves(name, before), _leaves(name, after)
    for path in sorted(set(old) | set(new)):
        if path not in new:
            diff.add(path, "removed", old[path], None, Effect.UNCLEAR)
        elif path not in old:
            diff.add(path, "added", None, new[path], Effect.UNCLEAR)
        elif old[path] != new[path]:
            diff.add(path, "changed", old[path], new[path], Effect.UNCLEAR)


def _remedy(diff: _Diff, before: RemedyDef, after: RemedyDef) -> None:
    path = f"remedies.{after.id}"
    diff.other(f"{path}.kind", before.kind.value, after.kind.value)
    diff.ids(f"{path}.rules", before.rules, after.rules, Effect.LOOSENS, Effect.TIGHTENS)
    diff.ids(f"{path}.excludes", before.excludes, after.excludes, Effect.LOOSENS, Effect.TIGHTENS)
    diff.other(f"{path}.requires_any", before.requires_any, after.requires_any)
    old, new = before.amount, after.amount
    if old is not None and new is not None and old.of == new.of:
        diff.amount(f"{path}.amount.percent", old.percent, new.percent)
        if old.fixed is not None and new.fixed is not None:
            diff.amount(f"{path}.amount.fixed", old.fixed, new.fixed)
        diff.optional_max(f"{path}.amount.max", old.max, new.max)
    else:
        diff.other(f"{path}.amount", old, new)
    diff.flag(f"{path}.self_service", before.self_service, after.self_service, looser=True)
    diff.flag(
        f"{path}.confirmation_required",
        before.confirmation_required,
        after.confirmation_required,
        looser=False,
    )
    diff.flag(f"{path}.offer", before.offer, after.offer, looser=True)
    diff.other(f"{path}.gift", before.gift, after.gift)
    diff.other(f"{path}.params", before.params, after.params)
    diff.other(f"{path}.retention_lift", before.retention_lift, after.retention_lift)
    diff.other(f"{path}.service_level", int(before.service_level), int(after.service_level))
    diff.other(f"{path}.label", before.label, after.label, Effect.WORDING)
    diff.other(f"{path}.description", before.description, after.description, Effect.WORDING)


def _limit_text(limit: AuthorityLimit) -> str:
    allowed = "all remedies" if limit.remedies is None else _text(limit.remedies)
    return (
        f"per grant {_text(limit.per_grant)}, per case {_text(limit.per_case)}, "
        f"per day {_text(limit.per_day)}, remedies: {allowed}"
    )


def _authority(diff: _Diff, before: Policy, after: Policy) -> None:
    for role in ROLES:
        old, new = before.authority.get(role), after.authority.get(role)
        path = f"authority.{role}"
        if old is None and new is None:
            continue
        if old is None:
            assert new is not None
            diff.add(path, "added", None, _limit_text(new), Effect.LOOSENS)
            continue
        if new is None:
            diff.add(path, "removed", _limit_text(old), None, Effect.TIGHTENS)
            continue
        diff.amount(f"{path}.per_grant", old.per_grant, new.per_grant)
        diff.amount(f"{path}.per_case", old.per_case, new.per_case)
        diff.amount(f"{path}.per_day", old.per_day, new.per_day)
        if old.remedies is None and new.remedies is not None:
            diff.add(f"{path}.remedies", "changed", "all", new.remedies, Effect.TIGHTENS)
        elif old.remedies is not None and new.remedies is None:
            diff.add(f"{path}.remedies", "changed", old.remedies, "all", Effect.LOOSENS)
        elif old.remedies is not None and new.remedies is not None:
            diff.ids(
                f"{path}.remedies", old.remedies, new.remedies, Effect.TIGHTENS, Effect.LOOSENS
            )


def _approvers(diff: _Diff, before: Policy, after: Policy) -> None:
    for role in ROLES:
        old, new = before.approvers.get(role), after.approvers.get(role)
        if old == new:
            continue
        path = f"approvers.{role}"
        if old is None or new is None:
            diff.add(path, "changed", old, new, Effect.UNCLEAR)
        else:
            # A higher role asked (admin before lead) is a stricter approval.
            higher = ROLES.index(new) < ROLES.index(old)
            diff.add(path, "changed", old, new, Effect.TIGHTENS if higher else Effect.LOOSENS)


Entry = TypeVar("Entry")


def _paired(
    before: Iterable[Entry], after: Iterable[Entry], key: Callable[[Entry], Any]
) -> Iterator[tuple[Any, Entry | None, Entry | None]]:
    """Each entry of either list by its key, in key order: as it was, as it is (None where
    it was not, or is no more)."""
    old = {key(e): e for e in before}
    new = {key(e): e for e in after}
    for k in sorted(set(old) | set(new)):
        yield k, old.get(k), new.get(k)


def _budgets(diff: _Diff, before: Policy, after: Policy) -> None:
    per_team_and_period = _paired(before.budgets, after.budgets, lambda x: (x.team, x.period))
    for (team, period), a, b in per_team_and_period:
        path = f"budgets.{team}.{period}"
        if b is None:
            assert a is not None
            diff.add(path, "removed", a.amount, None, Effect.LOOSENS)
        elif a is None:
            diff.add(path, "added", None, b.amount, Effect.TIGHTENS)
        else:
            diff.amount(path, a.amount, b.amount)


def _programs(diff: _Diff, before: Policy, after: Policy) -> None:
    for pid, a, b in _paired(before.programs, after.programs, lambda p: p.id):
        path = f"programs.{pid}"
        if b is None:
            assert a is not None
            diff.add(path, "removed", f"{a.remedy} for {a.known_issue}", None, Effect.REMOVES)
        elif a is None:
            diff.add(path, "added", None, f"{b.remedy} for {b.known_issue}", Effect.LOOSENS)
        else:
            diff.other(f"{path}.known_issue", a.known_issue, b.known_issue)
            diff.other(f"{path}.remedy", a.remedy, b.remedy)
            diff.other(f"{path}.params", a.params, b.params)
            diff.other(f"{path}.description", a.description, b.description, Effect.WORDING)


def _rules(diff: _Diff, before: Policy, after: Policy) -> None:
    for rid, a, b in _paired(before.rules, after.rules, lambda r: r.id):
        path = f"rules.{rid}"
        if b is None:
            diff.add(path, "removed", rid, None, Effect.LOOSENS)
        elif a is None:
            # A rule nobody cites changes nothing; the remedies citing it show as tightening.
            diff.add(path, "added", None, rid, Effect.TIGHTENS)
        else:
            diff.other(f"{path}.when", a.when, b.when)
            diff.other(f"{path}.require", a.require, b.require)
            diff.other(f"{path}.code", a.code, b.code)
            diff.other(f"{path}.message", a.message, b.message, Effect.WORDING)
            diff.other(f"{path}.description", a.description, b.description, Effect.WORDING)


def compare(before: Policy, after: Policy) -> PolicyDiff:
    """Every difference between the policy in force and a new one, classified.

    Compared: remedies (added, removed, and per remedy its rules, exclusions, amount, flags),
    authority per role (limits, remedies allowed, roles given or losing authority), who
    approves for each role, budgets, programs, rules, guardrails, caps; the currency, the
    cost, value and retention models, tables, issue types and planner settings count as
    unclear whenever they change.
    """
    diff = _Diff()
    diff.other("name", before.name, after.name, Effect.WORDING)
    diff.other("currency", before.currency, after.currency)
    old_remedies = {r.id: r for r in before.remedies}
    new_remedies = {r.id: r for r in after.remedies}
    for rid in sorted(set(old_remedies) | set(new_remedies)):
        if rid not in new_remedies:
            diff.add(f"remedies.{rid}", "removed", old_remedies[rid].label, None, Effect.REMOVES)
        elif rid not in old_remedies:
            diff.add(f"remedies.{rid}", "added", None, new_remedies[rid].label, Effect.LOOSENS)
        else:
            _remedy(diff, old_remedies[rid], new_remedies[rid])
    _authority(diff, before, after)
    _approvers(diff, before, after)
    _budgets(diff, before, after)
    _programs(diff, before, after)
    _rules(diff, before, after)
    guard_old, guard_new = before.guardrails, after.guardrails
    diff.amount(
        "guardrails.max_grants_per_customer_90d",
        guard_old.max_grants_per_customer_90d,
        guard_new.max_grants_per_customer_90d,
    )
    diff.amount(
        "guardrails.max_refund_ratio", guard_old.max_refund_ratio, guard_new.max_refund_ratio
    )
    diff.ids(
        "guardrails.hard_rules",
        guard_old.hard_rules,
        guard_new.hard_rules,
        Effect.LOOSENS,
        Effect.TIGHTENS,
    )
    for scope in ("per_order", "per_case_issue"):
        old_cap, new_cap = getattr(before.caps, scope), getattr(after.caps, scope)
        diff.amount(f"caps.{scope}.value_share", old_cap.value_share, new_cap.value_share)
        diff.amount(f"caps.{scope}.extra", old_cap.extra, new_cap.extra)
    for name in ("costs", "value", "retention", "planner"):
        _section(diff, name, getattr(before, name), getattr(after, name))
    _section(diff, "tables", before.tables, after.tables)
    diff.other("issue_types", before.issue_types, after.issue_types)
    return PolicyDiff(tuple(diff.items))


def grants_nothing(policy: Policy) -> list[str]:
    """Why a policy would let nobody grant anything (empty when it grants something).

    Such a policy empties every plan at once; it is refused unless forced.
    """
    if not policy.remedies:
        return ["it declares no remedies"]
    remedy_ids = {r.id for r in policy.remedies}
    # Viewers never grant, whatever their limits say: they may not write to cases.
    grantors = [
        role
        for role, limit in policy.authority.items()
        if role != "viewer" and (limit.remedies is None or remedy_ids & set(limit.remedies))
    ]
    if not grantors:
        return ["no role has authority to grant any of its remedies"]
    return []


class PolicyEmpty(DomainError):
    code = ErrorCode.POLICY_EMPTY

    def __init__(self, version: str, reasons: list[str]) -> None:
        super().__init__(
            f"policy {version} grants nothing: {'; '.join(reasons)}. Every plan would be "
            "empty; force it only if that is what you mean",
            details={"version": version, "reasons": reasons},
        )


class PolicyChangeStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@dataclass(slots=True)
class PolicyChange:
    """A policy waiting for a second admin: the file, the policy it was compared with, and
    the differences found."""

    id: int | None
    version: str
    name: str
    digest: str
    text: str
    base_version: str | None
    base_digest: str | None
    diff: PolicyDiff
    proposed_by: str
    proposed_at: datetime
    forced: bool = False
    status: PolicyChangeStatus = PolicyChangeStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str = ""

    def _require_pending(self) -> None:
        if self.status is not PolicyChangeStatus.PENDING:
            raise DomainError(
                f"policy change {self.id} was already {self.status.value}",
                code=ErrorCode.POLICY_CHANGE_DECIDED,
                details={"status": self.status.value, "decided_by": self.decided_by},
            )

    def confirm(self, by: str, active_digest: str | None, now: datetime, note: str) -> None:
        """A second admin agrees; refused to the proposer, and when the policy in force is
        no longer the one the differences were computed against."""
        self._require_pending()
        if by == self.proposed_by:
            raise DomainError(
                "a policy change is confirmed by another admin than the one who proposed it",
                code=ErrorCode.OWN_REQUEST,
                details={"proposed_by": self.proposed_by},
            )
        if active_digest != self.base_digest:
            raise DomainError(
                f"the policy in force changed since change {self.id} was proposed against "
                f"version {self.base_version}; propose it again to see the differences anew",
                code=ErrorCode.POLICY_STALE,
                details={"base_version": self.base_version},
            )
        self.status, self.decided_by, self.decided_at, self.note = (
            PolicyChangeStatus.CONFIRMED,
            by,
            now,
            note,
        )

    def reject(self, by: str, now: datetime, note: str) -> None:
        """Any admin may turn a change down, its proposer too (a change withdrawn)."""
        self._require_pending()
        self.status, self.decided_by, self.decided_at, self.note = (
            PolicyChangeStatus.REJECTED,
            by,
            now,
            note,
        )
