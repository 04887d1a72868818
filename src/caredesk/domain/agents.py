"""Agents (the people who work cases), their roles and what each role may do."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from caredesk.domain.calendars import zone
from caredesk.domain.errors import DomainError, ErrorCode, Forbidden, ValidationFailed


class Role(StrEnum):
    ADMIN = "admin"
    LEAD = "lead"
    EDITOR = "editor"  # an agent who may also publish (public articles, macros)
    AGENT = "agent"
    VIEWER = "viewer"

    @property
    def grants_as(self) -> Role:
        """The role whose authority the policy applies to this role's grants and approvals.

        Publishing is no authority over money: an editor grants, and is approved, as an agent.
        """
        return Role.AGENT if self is Role.EDITOR else self


class Permission(StrEnum):
    READ = "read"
    WRITE_CASES = "write_cases"
    WRITE_CUSTOMERS = "write_customers"
    WRITE_CATALOG = "write_catalog"
    APPROVE = "approve"
    MANAGE_AGENTS = "manage_agents"
    MANAGE_TOKENS = "manage_tokens"
    MANAGE_POLICY = "manage_policy"
    MANAGE_JOBS = "manage_jobs"
    MANAGE_WEBHOOKS = "manage_webhooks"
    # Erasing a person and running retention destroy data for good: admins only.
    ERASE_PERSONAL_DATA = "erase_personal_data"
    # Putting words in front of customers (public articles) or of every agent (published
    # macros), or changing them once they are there.
    PUBLISH = "publish"


_AGENT = frozenset({Permission.READ, Permission.WRITE_CASES, Permission.WRITE_CUSTOMERS})
_LEAD = _AGENT | {Permission.APPROVE, Permission.WRITE_CATALOG}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.AGENT: _AGENT,
    Role.EDITOR: _AGENT | {Permission.PUBLISH},
    Role.LEAD: _LEAD,
    Role.ADMIN: frozenset(Permission),
}

# The rules a scope refusal cites, whatever the policy in force calls its own.
VERIFY_FIRST_RULE, ANOTHER_CUSTOMER_RULE = "identity.verified", "identity.one_user"


def _identify_first() -> DomainError:
    return DomainError(
        "identify the customer first",
        code=ErrorCode.NOT_CUSTOMERS,
        details={"rule": VERIFY_FIRST_RULE},
    )


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: an agent (through a session or a token), a token alone, or the system."""

    role: Role
    agent_id: int | None = None
    token_id: int | None = None
    customer_id: str | None = None
    # The tools a token may use (all when None), for agents limited to a few operations.
    tools: tuple[str, ...] | None = None
    # In a tool session: speaking for one customer it has to name first, as an AI agent does
    # on the tool API; until it verified a customer (or its token was issued bound to one)
    # it reaches nobody.
    tool_session: bool = False

    @property
    def scoped(self) -> bool:
        """A token limited to tools or to one customer: it speaks only through the tool API."""
        return self.customer_id is not None or self.tools is not None

    @property
    def ref(self) -> str:
        if self.agent_id is not None:
            return f"agent:{self.agent_id}"
        if self.token_id is not None:
            return f"token:{self.token_id}"
        if self.customer_id is not None:
            # The customer acting for themselves, through the portal.
            return f"customer:{self.customer_id}"
        return "system"

    def reaches(self, customer_id: str) -> bool:
        """Whether this actor may see or change this customer's records at all.

        A customer (in the portal), a token bound to one customer and a tool session that
        verified one reach that customer only; a tool session that verified nobody yet
        reaches nobody; agents and unbound tokens outside a tool session reach everyone.
        """
        if self.customer_id is not None:
            return self.customer_id == customer_id
        return not self.tool_session

    def require_verified(self) -> None:
        """Refuse a tool session that has not named its customer yet. Checked before any
        record is looked up, so such an actor cannot learn which ids exist."""
        if self.tool_session and self.customer_id is None:
            raise _identify_first()

    def require_reach(self, customer_id: str) -> None:
        """Refuse a record of a customer this actor does not reach."""
        self.require_verified()
        if not self.reaches(customer_id):
            raise DomainError(
                "this belongs to another customer",
                code=ErrorCode.NOT_CUSTOMERS,
                details={"rule": ANOTHER_CUSTOMER_RULE},
            )

    def verified_customer(self) -> str:
        """The one customer this actor acts for: bound, verified, or the portal's customer."""
        if self.customer_id is None:
            raise _identify_first()
        return self.customer_id

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(
                f"role {self.role.value} may not {permission.value.replace('_', ' ')}",
                details={"permission": permission.value, "role": self.role.value},
            )


SYSTEM = Actor(role=Role.ADMIN)


# What the teams table holds; a longer name is refused at every door, not cut.
TEAM_NAME_MAX = 100


@dataclass(slots=True)
class Team:
    id: int | None
    name: str

    def __post_init__(self) -> None:
        self.name = self.name.strip()
        if not 0 < len(self.name) <= TEAM_NAME_MAX:
            raise ValidationFailed(
                f"a team's name has 1 to {TEAM_NAME_MAX} characters",
                details={"field": "name", "length": len(self.name)},
            )


@dataclass(slots=True)
class Agent:
    id: int | None
    email: str
    name: str
    role: Role
    password_hash: str | None = None
    active: bool = True
    team_ids: list[int] = field(default_factory=list)
    # IANA name; None reads times in the desk's time zone.
    time_zone: str | None = None
    # A lead or admin who asked for the weekly summary by mail (docs/reporting.md).
    weekly_summary: bool = False

    def actor(self) -> Actor:
        return Actor(role=self.role, agent_id=self.id)


def check_time_zone(name: str | None) -> str | None:
    """An IANA time zone name as agents read times in, or None for the desk's own."""
    if name is None or not name.strip():
        return None
    try:
        zone(name.strip())
    except DomainError as exc:
        raise ValidationFailed(exc.message, details={"field": "time_zone", "value": name}) from exc
    return name.strip()
