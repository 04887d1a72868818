"""Policy versions: load a file, keep the version in force, audit every change.

Four eyes on money: a policy that grants nothing is refused unless forced, and a change that
gives agents more room waits for a second admin (`domain/policy/review.py`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, Protocol

from caredesk.domain.agents import SYSTEM, Actor, Permission
from caredesk.domain.errors import Conflict, DomainError, ErrorCode, Forbidden, NotFound, must_exist
from caredesk.domain.grants import PolicyVersion
from caredesk.domain.policy.loading import LoadedPolicy, digest_of
from caredesk.domain.policy.review import (
    PolicyChange,
    PolicyChangeStatus,
    PolicyDiff,
    PolicyEmpty,
    compare,
    grants_nothing,
)
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.ports import HasFormats
from caredesk.services.core.reads import read, read_one
from caredesk.services.engine.ports import HasPolicies
from caredesk.services.engine.unit import EngineUnit


class PolicyReader(HasPolicies, HasFormats, Protocol):
    """What reading the policy in force needs: its versions, and the parser of its text."""


class CompiledPolicies:
    """The policies this process has compiled (parsed and validated), the few it used last.

    A plan runs on every case view and must not parse YAML: a process compiles each version
    once. Every plan still reads which version is in force (its digest, one column), so a
    version another process puts in force is planned with from the next plan on, and one that
    fell out of this process's few is compiled again. Kept by the digest of the version's
    text, not by its name: one process may serve several databases (tests, benchmarks) where
    one version name holds different texts.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[str, LoadedPolicy] = OrderedDict()
        # Request threads share the process's policies.
        self._lock = threading.Lock()

    def get(self, digest: str) -> LoadedPolicy | None:
        with self._lock:
            loaded = self._kept.get(digest)
            if loaded is not None:
                self._kept.move_to_end(digest)
            return loaded

    def compile(self, uow: PolicyReader, text: str) -> LoadedPolicy:
        loaded = self.get(digest_of(text))
        if loaded is not None:
            return loaded
        loaded = uow.formats.parse_policy(text)
        with self._lock:
            self._kept[loaded.digest] = loaded
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return loaded


COMPILED = CompiledPolicies(size=8)


def packaged_policy_text(name: str = "default") -> str:
    """A policy shipped with caredesk (`default`, `tau_retail`)."""
    try:
        return resources.files("caredesk.policies").joinpath(f"{name}.yaml").read_text("utf-8")
    except FileNotFoundError as exc:
        raise NotFound("packaged policy", name) from exc


@dataclass(frozen=True, slots=True)
class PolicyProposal:
    """What became of a policy sent to the desk: in force now, or waiting as `change`."""

    loaded: LoadedPolicy
    diff: PolicyDiff
    change: PolicyChange | None = None

    @property
    def in_force(self) -> bool:
        return self.change is None


def _needs_review(actor: Actor) -> bool:
    """Whether a change by this actor waits for a second admin when it gives more room.

    The system actor is the desk setting itself up (first start, `caredesk demo load`, a
    conformance replay, test fixtures): nobody reaches it through a door, since every
    request, console session and CLI command acting for someone carries an agent or a token.
    """
    return actor != SYSTEM


@command
def propose_policy(
    uow: EngineUnit, actor: Actor, now: datetime, text: str, *, force: bool = False
) -> PolicyProposal:
    """Validate a policy and compare it with the one in force.

    A policy that grants nothing is refused (`policy_empty`) unless `force`d. A change that
    only tightens goes in force at once; one that loosens, removes a remedy or changes what
    cannot be compared reliably is stored as a pending change for another admin to
    confirm. An invalid file, or a refusal, changes nothing.
    """
    actor.require(Permission.MANAGE_POLICY)
    loaded = COMPILED.compile(uow, text)
    empty = grants_nothing(loaded.policy)
    if empty and not force:
        raise PolicyEmpty(loaded.version, empty)
    with uow:
        uow.policies.lock()
        _check_version_free(uow, loaded)
        before = uow.policies.active()
        diff = (
            compare(COMPILED.compile(uow, before.text).policy, loaded.policy)
            if before
            else PolicyDiff()
        )
        if empty:
            publish_change(
                uow,
                actor,
                now,
                "policy.forced",
                "policy",
                loaded.version,
                after={"version": loaded.version, "reasons": empty},
            )
        if before is not None and diff.needs_confirmation and _needs_review(actor):
            change = _propose_change(uow, actor, now, loaded, text, before, diff, bool(empty))
            uow.commit()
            return PolicyProposal(loaded, diff, change)
        _put_in_force(uow, actor, now, loaded, before, diff)
        uow.commit()
    return PolicyProposal(loaded, diff)


def _propose_change(
    uow: EngineUnit,
    actor: Actor,
    now: datetime,
    loaded: LoadedPolicy,
    text: str,
    before: PolicyVersion,
    diff: PolicyDiff,
    forced: bool,
) -> PolicyChange:
    """The policy stored as a pending change, for another admin to confirm."""
    change = PolicyChange(
        id=None,
        version=loaded.version,
        name=loaded.policy.name,
        digest=loaded.digest,
        text=text,
        base_version=before.version,
        base_digest=before.digest,
        diff=diff,
        proposed_by=actor.ref,
        proposed_at=now,
        forced=forced,
    )
    uow.policies.add_change(change)
    publish_change(
        uow,
        actor,
        now,
        "policy.proposed",
        "policy_change",
        change.id,
        before={"version": before.version},
        after={
            "version": loaded.version,
            "digest": loaded.digest,
            "forced": forced,
            "differences": [str(d) for d in diff.differences],
        },
    )
    return change


def load_policy(
    uow: EngineUnit, actor: Actor, now: datetime, text: str, *, force: bool = False
) -> LoadedPolicy:
    """Put a policy in force as the system (first start, demo, conformance, fixtures).

    Admins go through `propose_policy`, whose outcome may be a pending change.
    """
    if _needs_review(actor):
        raise Forbidden("only the desk itself loads a policy without review; propose it")
    return propose_policy(uow, actor, now, text, force=force).loaded


def _check_version_free(uow: EngineUnit, loaded: LoadedPolicy) -> None:
    existing = uow.policies.get(loaded.version)
    if existing is not None and existing.digest != loaded.digest:
        raise Conflict(
            f"policy version {loaded.version} exists with other content; bump `version`",
            details={"version": loaded.version},
        )


def _put_in_force(
    uow: EngineUnit,
    actor: Actor,
    now: datetime,
    loaded: LoadedPolicy,
    before: PolicyVersion | None,
    diff: PolicyDiff,
    **audit: Any,
) -> None:
    if uow.policies.get(loaded.version) is None:
        uow.policies.add(
            PolicyVersion(
                version=loaded.version,
                name=loaded.policy.name,
                digest=loaded.digest,
                text=loaded.text,
                loaded_at=now,
                loaded_by=actor.ref,
                active=False,
            )
        )
    uow.policies.activate(loaded.version)
    publish_change(
        uow,
        actor,
        now,
        "policy.activated",
        "policy",
        loaded.version,
        before={"version": before.version if before else None},
        after={
            "version": loaded.version,
            "digest": loaded.digest,
            "differences": [str(d) for d in diff.differences],
            **audit,
        },
    )


def _require_person(actor: Actor) -> None:
    """A confirmation counts as a second pair of eyes only when it names a person: a token
    that belongs to no agent could be anyone's, the proposer's included."""
    if actor.agent_id is None:
        raise Forbidden(
            "a policy change is confirmed by an admin as themselves: sign in, or use a token "
            "issued to your own agent",
            details={"reason": "no_agent"},
        )


@command
def confirm_policy_change(
    uow: EngineUnit, actor: Actor, now: datetime, change_id: int, note: str = ""
) -> PolicyChange:
    """A second admin puts a pending change in force, if the policy it was compared with is
    still the one in force. Refused to the proposer; every refusal changes nothing."""
    actor.require(Permission.MANAGE_POLICY)
    _require_person(actor)
    with uow:
        uow.policies.lock()
        change = must_exist(uow.policies.get_change(change_id), "policy change", change_id)
        before = uow.policies.active()
        change.confirm(actor.ref, before.digest if before else None, now, note)
        loaded = COMPILED.compile(uow, change.text)
        _check_version_free(uow, loaded)
        uow.policies.save_change(change)
        publish_change(
            uow,
            actor,
            now,
            "policy.confirmed",
            "policy_change",
            change_id,
            before={"status": PolicyChangeStatus.PENDING.value},
            after={
                "status": change.status.value,
                "version": change.version,
                "proposed_by": change.proposed_by,
                "forced": change.forced,
                "note": note,
            },
        )
        _put_in_force(
            uow,
            actor,
            now,
            loaded,
            before,
            change.diff,
            change_id=change_id,
            proposed_by=change.proposed_by,
        )
        uow.commit()
    return change


@command
def reject_policy_change(
    uow: EngineUnit, actor: Actor, now: datetime, change_id: int, note: str = ""
) -> PolicyChange:
    """Turn a pending change down (its proposer may withdraw it); the policy in force stays."""
    actor.require(Permission.MANAGE_POLICY)
    with uow:
        uow.policies.lock()
        change = must_exist(uow.policies.get_change(change_id), "policy change", change_id)
        change.reject(actor.ref, now, note)
        uow.policies.save_change(change)
        publish_change(
            uow,
            actor,
            now,
            "policy.rejected",
            "policy_change",
            change_id,
            before={"status": PolicyChangeStatus.PENDING.value},
            after={"status": change.status.value, "version": change.version, "note": note},
        )
        uow.commit()
    return change


def list_policy_changes(
    uow: EngineUnit,
    actor: Actor,
    status: PolicyChangeStatus | None = PolicyChangeStatus.PENDING,
    limit: int = 50,
) -> list[PolicyChange]:
    return read(uow, actor, Permission.MANAGE_POLICY, lambda u: u.policies.changes(status, limit))


def get_policy_change(uow: EngineUnit, actor: Actor, change_id: int) -> PolicyChange:
    return read_one(
        uow,
        actor,
        Permission.MANAGE_POLICY,
        lambda u: u.policies.get_change(change_id),
        "policy change",
        change_id,
    )


def active_policy(uow: EngineUnit) -> LoadedPolicy:
    with uow:
        return policy_in_force(uow)


def policy_in_force(uow: PolicyReader) -> LoadedPolicy:
    """The policy in force, read inside a unit of work the caller has entered.

    Only the digest is read on the hot path; the text once per version and process.
    """
    digest = uow.policies.active_digest()
    compiled = COMPILED.get(digest) if digest else None
    if compiled is not None:
        return compiled
    current = uow.policies.active()
    if current is None:
        raise DomainError(
            "no policy is in force; load one with `caredesk policy load FILE`",
            code=ErrorCode.POLICY_INVALID,
        )
    return COMPILED.compile(uow, current.text)


def ensure_policy(uow: EngineUnit, actor: Actor, now: datetime, text: str) -> LoadedPolicy:
    """Put `text` in force only when no policy is yet (first start, demo, tests)."""
    with uow:
        current = uow.policies.active()
    if current is not None:
        return COMPILED.compile(uow, current.text)
    return load_policy(uow, actor, now, text)


def history(uow: EngineUnit, actor: Actor) -> list[PolicyVersion]:
    return read(uow, actor, Permission.READ, lambda u: u.policies.history())
