"""The policy file's schema: remedies, rules over facts, costs, value, authority, guardrails.

A store's policy is YAML validated by these models. It is data: changing what the desk may
grant, and to whom, never needs a code change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from caredesk.domain.policy.conditions import (
    Check,
    Condition,
    TableDef,
    compile_condition,
    reads,
    tables_used,
)

ROLES = ("admin", "lead", "agent", "viewer")
Id = str


class RemedyKind(StrEnum):
    REFUND = "refund"  # full, partial or per line, to the original payments
    STORE_CREDIT = "store_credit"
    SHIPPING_CREDIT = "shipping_credit"
    REPLACEMENT = "replacement"  # the same item shipped again, free
    UPGRADE = "upgrade"  # a better item shipped free
    KEEP_ITEM = "keep_item"  # the customer keeps what they received; no return
    RETURN_LABEL = "return_label"  # a return with a prepaid label, refunded on receipt
    EXCHANGE = "exchange"  # another variant of the same product
    CANCEL = "cancel"
    MODIFY_ADDRESS = "modify_address"
    MODIFY_ITEMS = "modify_items"
    MODIFY_PAYMENT = "modify_payment"
    FEE_WAIVER = "fee_waiver"
    EXPEDITE = "expedite"
    GESTURE = "gesture"  # a gift or a handwritten note
    UPDATE_PROFILE_ADDRESS = "update_profile_address"  # the customer's default address


class ServiceLevel(IntEnum):
    """What a resolution was: 1 deflected (policy only), 2 saved the sale, 3 invested."""

    DEFLECTED = 1
    SAVED = 2
    INVESTED = 3


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    """An eligibility rule: where `when` holds (or always), `require` must hold."""

    id: Id = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,79}$")
    description: str = ""
    when: Condition | None = None
    require: Condition
    code: str = Field(default="policy_refused", pattern=r"^[a-z][a-z0-9_]{0,59}$")
    message: str


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """A rule compiled with its policy: its conditions as functions of the facts, and every
    fact they read, so a rule that reads none of a request's facts is known to decide the
    same for every request of one case."""

    rule: Rule
    # What the rule says decides what the check is: two policies with the same rules are
    # equal, whichever functions compiled them.
    applies: Check | None = field(compare=False)  # `when`; None where it always applies
    holds: Check = field(compare=False)
    reads: frozenset[str] = field(compare=False)

    @classmethod
    def of(cls, rule: Rule, tables: Mapping[str, TableDef]) -> RuleCheck:
        when = None if rule.when is None else compile_condition(rule.when, tables)
        read = reads(rule.require, tables)
        if rule.when is not None:
            read |= reads(rule.when, tables)
        return cls(rule, when, compile_condition(rule.require, tables), read)


class AmountSpec(_Strict):
    """How much money a remedy moves: a share of some basis, or a fixed sum, capped."""

    of: Literal["fixed", "order_paid", "order_total", "lines", "shipping", "requested"] = "fixed"
    percent: Decimal = Field(default=Decimal(100), gt=0, le=100)
    fixed: Decimal | None = Field(default=None, ge=0)
    max: Decimal | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _fixed_needs_amount(self) -> AmountSpec:
        if self.of == "fixed" and self.fixed is None:
            raise ValueError("an amount `of: fixed` needs `fixed`")
        return self


class RemedyDef(_Strict):
    id: Id = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")
    kind: RemedyKind
    label: str
    description: str = ""
    rules: list[Id] = Field(default_factory=list, description="Eligibility rules, all must pass.")
    amount: AmountSpec | None = None
    gift: str | None = Field(default=None, description="For gestures: what is sent.")
    excludes: list[Id] = Field(default_factory=list)
    requires_any: list[Id] = Field(
        default_factory=list, description="Only offered together with one of these."
    )
    retention_lift: dict[str, float] = Field(
        default_factory=dict,
        description="Per issue type ('*' for any): how much of the churn risk this removes.",
    )
    service_level: ServiceLevel = ServiceLevel.SAVED
    self_service: bool = False
    confirmation_required: bool = False
    offer: bool = Field(default=True, description="Whether the planner proposes it unasked.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Default parameters, e.g. the gift for a gesture."
    )


class Program(_Strict):
    """What the company decided to do about a known issue: a remedy agents may grant for it."""

    id: Id = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")
    known_issue: str = Field(description="The known issue's key, as cases and articles name it.")
    remedy: Id
    params: dict[str, Any] = Field(default_factory=dict)
    description: str = ""


class CostModel(_Strict):
    shipping: Decimal = Field(default=Decimal("7.95"), ge=0)
    expedite: Decimal = Field(default=Decimal("15.00"), ge=0)
    return_label: Decimal = Field(default=Decimal("8.50"), ge=0)
    handling: Decimal = Field(default=Decimal("4.00"), ge=0, description="Per item returned.")
    restock_loss_rate: Decimal = Field(default=Decimal("0.10"), ge=0, le=1)
    resale_rate: Decimal = Field(default=Decimal("0.70"), ge=0, le=1)
    default_cost_rate: Decimal = Field(default=Decimal("0.55"), ge=0, le=1)
    fee: Decimal = Field(default=Decimal("10.00"), ge=0)
    gestures: dict[str, Decimal] = Field(
        default_factory=lambda: {"note": Decimal("2.00"), "gift": Decimal("25.00")}
    )


class ValueModel(_Strict):
    """Customer value = margin × average order × orders per year × horizon × tier factor,
    never below `floor` (a first-time buyer is still worth winning)."""

    margin_rate: Decimal = Field(default=Decimal("0.35"), ge=0, le=1)
    horizon_years: Decimal = Field(default=Decimal(3), gt=0)
    min_tenure_years: Decimal = Field(default=Decimal("0.5"), gt=0)
    floor: Decimal = Field(default=Decimal(40), ge=0)
    tier_factor: dict[str, Decimal] = Field(default_factory=dict)
    public_risk_factor: Decimal = Field(
        default=Decimal("1.5"), ge=1, description="A public complaint reaches other customers."
    )


class RetentionModel(_Strict):
    base: dict[str, float] = Field(
        default_factory=lambda: {"*": 0.7},
        description="Chance of keeping the customer with no remedy, per issue type.",
    )
    negative_sentiment_penalty: float = Field(default=0.1, ge=0, le=1)
    public_risk_penalty: float = Field(default=0.2, ge=0, le=1)
    first_order_penalty: float = Field(default=0.1, ge=0, le=1)
    ceiling: float = Field(default=0.98, gt=0, le=1)


class AuthorityLimit(_Strict):
    per_grant: Decimal = Field(ge=0)
    per_case: Decimal = Field(ge=0)
    per_day: Decimal = Field(ge=0)
    remedies: list[Id] | None = Field(
        default=None, description="Remedies this role may grant at all; all when omitted."
    )


class Budget(_Strict):
    team: str = Field(description="A team name, or '*' for the whole desk.")
    period: Literal["day", "week", "month", "quarter"]
    amount: Decimal = Field(ge=0)

    def period_start(self, now: datetime) -> datetime:
        """Midnight of the day, the week's Monday, the month's or the quarter's first day."""
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.period == "day":
            return day
        if self.period == "week":
            return day - timedelta(days=day.weekday())
        if self.period == "month":
            return day.replace(day=1)
        return day.replace(month=((day.month - 1) // 3) * 3 + 1, day=1)


class Guardrails(_Strict):
    max_grants_per_customer_90d: int = Field(default=6, ge=0)
    max_refund_ratio: Decimal = Field(
        default=Decimal("0.6"), ge=0, description="Refunds over spend in the last 365 days."
    )
    hard_rules: list[Id] = Field(
        default_factory=list, description="Rules every grant must pass; no approval overrides."
    )


class Cap(_Strict):
    """At most `value_share` × the value of the goods in question, plus `extra`."""

    value_share: Decimal = Field(
        default=Decimal(1), ge=0, description="Share of what the customer paid for the goods."
    )
    extra: Decimal = Field(
        default=Decimal(50), ge=0, description="Goodwill above it: credits, gestures, shipping."
    )

    def allowance(self, value: Decimal) -> Decimal:
        return (value * self.value_share + self.extra).quantize(Decimal("0.01"))


class Caps(_Strict):
    """The most compensation, all grants together, that one order and one issue of a case
    receive, whatever the role: no approval lifts a cap.

    Everything a grant costs the store counts (refunds, credits, goods shipped free, labels,
    gestures). An order's value is its total; a case issue's, the total of the orders the case
    is about, so a case with no order gets the `extra` alone. By default a customer can get
    back all they paid and a bounded goodwill on top, but never be paid twice.
    """

    per_order: Cap = Cap()
    per_case_issue: Cap = Cap()


class PlannerSettings(_Strict):
    offers: int = Field(default=3, ge=1, le=20)
    max_bundle_size: int = Field(default=3, ge=1, le=5)


class Policy(_Strict):
    version: str = Field(min_length=1, max_length=64)
    name: str = "policy"
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    issue_types: list[str] = Field(default_factory=list)
    tables: dict[str, TableDef] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    remedies: list[RemedyDef] = Field(default_factory=list)
    costs: CostModel = CostModel()
    value: ValueModel = ValueModel()
    retention: RetentionModel = RetentionModel()
    authority: dict[str, AuthorityLimit] = Field(default_factory=dict)
    approvers: dict[str, str] = Field(
        default_factory=lambda: {"agent": "lead", "lead": "admin", "admin": "admin"},
        description="Who approves a grant above each role's authority.",
    )
    budgets: list[Budget] = Field(default_factory=list)
    programs: list[Program] = Field(default_factory=list)
    guardrails: Guardrails = Guardrails()
    caps: Caps = Caps()
    planner: PlannerSettings = PlannerSettings()
    # Each rule compiled once, when the policy is validated: policies are kept compiled per
    # version and a plan checks every remedy's rules.
    _checks: dict[str, RuleCheck] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _references_resolve(self) -> Policy:
        rule_ids = [r.id for r in self.rules]
        remedy_ids = [r.id for r in self.remedies]
        for label, ids in (("rule", rule_ids), ("remedy", remedy_ids)):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {label} ids: {', '.join(dupes)}")
        known_rules, known_remedies = set(rule_ids), set(remedy_ids)
        for remedy in self.remedies:
            for rule_id in remedy.rules:
                if rule_id not in known_rules:
                    raise ValueError(f"remedy {remedy.id} cites unknown rule {rule_id}")
            for other in [*remedy.excludes, *remedy.requires_any]:
                if other not in known_remedies:
                    raise ValueError(f"remedy {remedy.id} names unknown remedy {other}")
        for program in self.programs:
            if program.remedy not in known_remedies:
                raise ValueError(f"program {program.id} names unknown remedy {program.remedy}")
        for rule_id in self.guardrails.hard_rules:
            if rule_id not in known_rules:
                raise ValueError(f"guardrails.hard_rules cites unknown rule {rule_id}")
        for rule in self.rules:
            for cond in (rule.when, rule.require):
                for table in tables_used(cond) if cond is not None else ():
                    if table not in self.tables:
                        raise ValueError(f"rule {rule.id} uses unknown table {table}")
        for role, limit in self.authority.items():
            if role not in ROLES:
                raise ValueError(f"authority names unknown role {role!r}")
            for remedy_id in limit.remedies or []:
                if remedy_id not in known_remedies:
                    raise ValueError(f"authority.{role} names unknown remedy {remedy_id}")
        for role, approver in self.approvers.items():
            if role not in ROLES or approver not in ROLES:
                raise ValueError(f"approvers: {role} -> {approver} names an unknown role")
        self._checks = {rule.id: RuleCheck.of(rule, self.tables) for rule in self.rules}
        return self

    def rule(self, rule_id: str) -> Rule:
        return self._checks[rule_id].rule

    def checks(self) -> Mapping[str, RuleCheck]:
        """Every rule compiled, by id (read it once for many rules: the attribute is private
        to pydantic and dearer to reach than a dictionary)."""
        return self._checks

    def remedy(self, remedy_id: str) -> RemedyDef | None:
        return next((r for r in self.remedies if r.id == remedy_id), None)
