"""Policy versions: load a file, keep the version in force, audit every change."""

from __future__ import annotations

from datetime import datetime
from importlib import resources

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import Conflict, DomainError, ErrorCode, NotFound
from caredesk.domain.events import Changed
from caredesk.domain.grants import PolicyVersion
from caredesk.domain.policy.loading import LoadedPolicy, parse_policy
from caredesk.services.commands import command
from caredesk.services.ports import UnitOfWork

_CACHE: dict[str, LoadedPolicy] = {}


def packaged_policy_text(name: str = "default") -> str:
    """A policy shipped with caredesk (`default`, `tau_retail`)."""
    try:
        return resources.files("caredesk.policies").joinpath(f"{name}.yaml").read_text("utf-8")
    except FileNotFoundError as exc:
        raise NotFound("packaged policy", name) from exc


def parsed(text: str) -> LoadedPolicy:
    """Parse once per distinct text: the planner runs on every case view."""
    from hashlib import sha256

    digest = sha256(text.encode()).hexdigest()
    loaded = _CACHE.get(digest)
    if loaded is None:
        loaded = parse_policy(text)
        _CACHE[digest] = loaded
    return loaded


@command
def load_policy(uow: UnitOfWork, actor: Actor, now: datetime, text: str) -> LoadedPolicy:
    """Validate and put a policy in force. An invalid file changes nothing."""
    actor.require(Permission.MANAGE_POLICY)
    loaded = parsed(text)
    with uow:
        existing = uow.policies.get(loaded.version)
        if existing is not None and existing.digest != loaded.digest:
            raise Conflict(
                f"policy version {loaded.version} exists with other content; bump `version`",
                details={"version": loaded.version},
            )
        before = uow.policies.active()
        if existing is None:
            uow.policies.add(
                PolicyVersion(
                    version=loaded.version,
                    name=loaded.policy.name,
                    digest=loaded.digest,
                    text=text,
                    loaded_at=now,
                    loaded_by=actor.ref,
                    active=False,
                )
            )
        uow.policies.activate(loaded.version)
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="policy.activated",
                entity_type="policy",
                entity_id=loaded.version,
                before={"version": before.version if before else None},
                after={"version": loaded.version, "digest": loaded.digest},
            )
        )
        uow.commit()
    return loaded


def active_policy(uow: UnitOfWork) -> LoadedPolicy:
    with uow:
        return policy_in_force(uow)


def policy_in_force(uow: UnitOfWork) -> LoadedPolicy:
    """The policy in force, read inside a unit of work the caller has entered.

    Only the digest is read on the hot path; the text is parsed once per process.
    """
    digest = uow.policies.active_digest()
    cached = _CACHE.get(digest) if digest else None
    if cached is not None:
        return cached
    current = uow.policies.active()
    if current is None:
        raise DomainError(
            "no policy is in force; load one with `caredesk policy load FILE`",
            code=ErrorCode.POLICY_INVALID,
        )
    return parsed(current.text)


def ensure_policy(uow: UnitOfWork, actor: Actor, now: datetime, text: str) -> LoadedPolicy:
    """Put `text` in force only when no policy is yet (first start, demo, tests)."""
    with uow:
        current = uow.policies.active()
    if current is not None:
        return parsed(current.text)
    return load_policy(uow, actor, now, text)


def history(uow: UnitOfWork, actor: Actor) -> list[PolicyVersion]:
    actor.require(Permission.READ)
    with uow:
        return uow.policies.history()
