"""Money stays safe over any sequence of grants, approvals, reversals, refunds, customer
replies and days passing, all through the service API.

After every step: the ledger balances, no order and no payment is refunded more than was
paid, no order or case issue receives more than its cap, a grant executed without approval
stayed within the agent's daily limit and the team budget, the customer guardrail holds, an
idempotency key executes at most once and answers the same, and a refusal or a replay
writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from caredesk.bootstrap import Container
from caredesk.domain.agents import Role
from caredesk.domain.cases import MessageKind
from caredesk.domain.errors import DomainError
from caredesk.domain.grants import ApprovalStatus, Grant, GrantStatus
from caredesk.domain.orders import TransactionType
from caredesk.services.cases import cases
from caredesk.services.engine import grants
from caredesk.services.engine.ports import BudgetWindow
from tests.conftest import _empty
from tests.integration.money_store import (
    add_agent,
    add_customer,
    add_team,
    load_policy,
    open_case,
    with_typed_credit,
)

D = Decimal
T = TypeVar("T")
AGENT_DAILY = D("100")
AGENT_PER_GRANT = D("50")
TEAM = "Front line"
TEAM_BUDGET = D("120")
MAX_GRANTS_PER_CUSTOMER = 6
ORDER_EXTRA, ISSUE_EXTRA = D("10"), D("5")
# Orders: id → (customer, card amount, gift card amount).
ORDERS = {"K1": ("kai", "60.00", ""), "K2": ("kai", "20.00", "30.00"), "L1": ("lia", "40.00", "")}
# Cases: (customer, order, issue, team); two cases share order K1 under different issues.
CASES = [
    ("kai", "K1", "damaged", TEAM),
    ("kai", "K2", "late_delivery", TEAM),
    ("lia", "L1", "complaint", "Billing"),
    ("kai", "K1", "complaint", "Billing"),
]
GOODWILL = [
    ["store-credit"],
    ["shipping-credit"],
    ["typed-credit"],
    ["refund-partial", "store-credit"],
    ["refund-full", "shipping-credit"],
    ["expedite"],
]
REFUNDS = [["refund-full"], ["refund-partial"], ["typed-refund"]]
TYPED = {"typed-credit", "typed-refund"}


class MoneyDesk(RuleBasedStateMachine):
    def __init__(self, container: Container) -> None:
        super().__init__()
        self.container = container
        _empty(container.engine)
        for customer in ("kai", "lia"):
            add_customer(
                container,
                customer,
                {
                    o: f"{by_card}+{by_gift}" if by_gift else by_card
                    for o, (owner, by_card, by_gift) in ORDERS.items()
                    if owner == customer
                },
            )
        load_policy(
            container,
            "properties",
            remedies=with_typed_credit(),
            authority={
                "agent": {
                    "per_grant": str(AGENT_PER_GRANT),
                    "per_case": 80,
                    "per_day": str(AGENT_DAILY),
                },
                "lead": {"per_grant": 500, "per_case": 1000, "per_day": 5000},
            },
            budgets=[{"team": TEAM, "period": "day", "amount": str(TEAM_BUDGET)}],
            caps={
                "per_order": {"value_share": 1, "extra": str(ORDER_EXTRA)},
                "per_case_issue": {"value_share": 1, "extra": str(ISSUE_EXTRA)},
            },
            guardrails={"max_grants_per_customer_90d": MAX_GRANTS_PER_CUSTOMER},
        )
        self.actors = {
            "agent": add_agent(container, "ana@desk.example", Role.AGENT, team=TEAM),
            "lead": add_agent(container, "lee@desk.example", Role.LEAD, team=TEAM),
        }
        add_team(container, "Billing")
        self.case_ids = [
            open_case(container, self.actors["agent"], c, order_ids=[o], issue=i, team=t)
            for c, o, i, t in CASES
        ]
        self.remembered: dict[int, dict[str, int]] = {}
        # (actor, key) → (the request, the grant it executed): a key executes once.
        self.keys: dict[tuple[str, str], tuple[Any, int]] = {}

    # -- what the desk holds ---------------------------------------------------------------

    def _grants(self) -> list[Grant]:
        with self.container.uow() as uow:
            return [g for c in ("kai", "lia") for g in uow.grants.for_customer(c)]

    def _footprint(self) -> tuple[Any, ...]:
        """Everything a grant, an approval or a reversal could write (ledger entries come
        only with a new grant)."""
        with self.container.uow() as uow:
            found = [g for c in ("kai", "lia") for g in uow.grants.for_customer(c)]
            return (
                [(g.id, g.status, g.bases) for g in found],
                [(a.id, a.status) for a in uow.approvals.find(None, 500)],
                [len(uow.cases.messages(c)) for c in self.case_ids],
                [len(uow.audit.for_case(c)) for c in self.case_ids],
                [uow.orders.get(o) for o in ORDERS],
                [uow.customers.get(c) for c in ("kai", "lia")],
            )

    def _attempt(self, step: Callable[[], T]) -> tuple[T | None, tuple[Any, ...]]:
        """Run a step; when it is refused, nothing may have changed."""
        before = self._footprint()
        try:
            return step(), before
        except DomainError:
            pass
        assert self._footprint() == before
        return None, before

    def _team_id(self) -> int | None:
        with self.container.uow() as uow:
            return next(t.id for t in uow.teams.all() if t.name == TEAM)

    def _day_spent(
        self, found: list[Grant], *, agent_id: int | None, team_id: int | None
    ) -> Decimal:
        today = self.container.clock.now().date()
        return sum(
            (
                g.cost
                for g in found
                if g.status is GrantStatus.EXECUTED
                and g.reverses_grant_id is None
                and g.executed_at is not None
                and g.executed_at.date() == today
                and (agent_id is None or g.agent_id == agent_id)
                and (team_id is None or g.team_id == team_id)
            ),
            D(0),
        )

    # -- steps -------------------------------------------------------------------------------

    def _ask(
        self,
        case: int,
        bundle: list[str],
        amount: str,
        who: str,
        key: str | None,
        basis: str,
        second_click: bool,
    ) -> None:
        actor = self.actors[who]
        case_id = self.case_ids[case]
        now = self.container.clock.now()
        plan_basis = None
        if basis == "fresh":
            plan_basis = grants.plan_case(self.container.uow(), actor, now, case_id).basis
            self.remembered[case_id] = plan_basis
        elif basis == "remembered":
            plan_basis = self.remembered.get(case_id)
        params = {r: {"amount": amount} for r in bundle if r in TYPED}
        outcome, before = self._attempt(
            lambda: grants.grant_on_case(
                self.container.uow(),
                actor,
                now,
                case_id,
                bundle,
                params=params,
                idempotency_key=key,
                basis=plan_basis,
            )
        )
        if outcome is None:
            return
        if outcome.replayed:
            assert self._footprint() == before
        assert outcome.grant.id is not None
        request = (case_id, sorted(bundle), params)
        if key is not None:
            first = self.keys.get((actor.ref, key))
            if first is not None and first[0] == request:
                assert outcome.grant.id == first[1], "a key answered with another grant"
            elif not outcome.replayed:
                assert first is None, "a key executed twice"
                self.keys[(actor.ref, key)] = (request, outcome.grant.id)
        if outcome.grant.status is GrantStatus.EXECUTED and not outcome.replayed:
            found = self._grants()
            if who == "agent":
                spent = self._day_spent(found, agent_id=actor.agent_id, team_id=None)
                assert spent <= AGENT_DAILY
                assert outcome.grant.cost <= AGENT_PER_GRANT
            if CASES[case][3] == TEAM:
                spent = self._day_spent(found, agent_id=None, team_id=self._team_id())
                assert spent <= TEAM_BUDGET
        if second_click and not outcome.replayed:
            # The same offer clicked again: on the page it was granted from, and on the page
            # shown after it (each with a key of its own).
            after = self._footprint()
            shown = grants.plan_case(self.container.uow(), actor, now, case_id).basis
            for page_basis in (plan_basis, shown):
                again = grants.grant_on_case(
                    self.container.uow(),
                    actor,
                    now,
                    case_id,
                    list(reversed(bundle)),
                    params=params,
                    basis=page_basis,
                )
                assert again.replayed and again.grant.id == outcome.grant.id
                assert (again.approval is None) == (outcome.approval is None)
            assert self._footprint() == after

    @rule(
        case=st.integers(0, len(CASES) - 1),
        bundle=st.sampled_from(GOODWILL),
        amount=st.sampled_from(["5", "20", "45"]),
        who=st.sampled_from(["agent", "lead"]),
        key=st.none() | st.sampled_from(["k1", "k2", "k3"]),
        basis=st.sampled_from(["none", "fresh", "remembered"]),
        second_click=st.booleans(),
    )
    def goodwill(
        self,
        case: int,
        bundle: list[str],
        amount: str,
        who: str,
        key: str | None,
        basis: str,
        second_click: bool,
    ) -> None:
        self._ask(case, bundle, amount, who, key, basis, second_click)

    @rule(
        case=st.integers(0, len(CASES) - 1),
        bundle=st.sampled_from(REFUNDS),
        amount=st.sampled_from(["5", "20", "45"]),
        who=st.sampled_from(["agent", "lead"]),
        key=st.none() | st.sampled_from(["k1", "k2", "k3"]),
        basis=st.sampled_from(["none", "fresh", "remembered"]),
        second_click=st.booleans(),
    )
    def refund(
        self,
        case: int,
        bundle: list[str],
        amount: str,
        who: str,
        key: str | None,
        basis: str,
        second_click: bool,
    ) -> None:
        self._ask(case, bundle, amount, who, key, basis, second_click)

    @rule(pick=st.integers(0, 5), approve=st.booleans())
    def decide(self, pick: int, approve: bool) -> None:
        with self.container.uow() as uow:
            pending = uow.approvals.find(ApprovalStatus.PENDING, 50)
        if not pending:
            return
        approval_id = pending[pick % len(pending)].id
        assert approval_id is not None
        self._attempt(
            lambda: grants.decide_approval(
                self.container.uow(),
                self.actors["lead"],
                self.container.clock.now(),
                approval_id,
                approve=approve,
            )
        )

    @rule(pick=st.integers(0, 5))
    def reverse(self, pick: int) -> None:
        executed = [
            g
            for g in self._grants()
            if g.status is GrantStatus.EXECUTED and g.reverses_grant_id is None
        ]
        if not executed:
            return
        chosen = executed[pick % len(executed)].id
        assert chosen is not None
        self._attempt(
            lambda: grants.reverse_grant(
                self.container.uow(),
                self.actors["lead"],
                self.container.clock.now(),
                chosen,
                "a mistake",
            )
        )

    @rule(case=st.integers(0, len(CASES) - 1))
    def customer_replies(self, case: int) -> None:
        cases.add_message(
            self.container.uow(),
            self.actors["agent"],
            self.container.clock.now(),
            self.case_ids[case],
            kind=MessageKind.INBOUND,
            body="Any news? I am still waiting.",
        )

    @rule(hours=st.sampled_from([1, 25]))
    def time_passes(self, hours: int) -> None:
        self.container.clock.advance(hours=hours)  # type: ignore[attr-defined]

    # -- what must always hold ---------------------------------------------------------------

    @invariant()
    def the_ledger_balances(self) -> None:
        with self.container.uow() as uow:
            assert uow.ledger.trial_balance() == 0
            for g in [g for c in ("kai", "lia") for g in uow.grants.for_customer(c)]:
                assert sum((e.amount for e in uow.ledger.for_grant(g.id or 0)), D(0)) == 0

    @invariant()
    def nothing_is_refunded_beyond_what_was_paid(self) -> None:
        with self.container.uow() as uow:
            orders = [uow.orders.get(o) for o in ORDERS]
        for order in orders:
            assert order is not None
            per_method: dict[str, Decimal] = defaultdict(Decimal)
            for p in order.payments:
                paid = p.transaction_type is TransactionType.PAYMENT
                per_method[p.payment_method_id] += p.amount if paid else -p.amount
            assert all(net >= 0 for net in per_method.values()), order.payments
            assert order.amount_paid >= 0

    @invariant()
    def no_order_or_case_issue_gets_more_than_its_cap(self) -> None:
        counted = [
            g
            for g in self._grants()
            if g.status is GrantStatus.EXECUTED and g.reverses_grant_id is None
        ]
        totals = {o: D(by_card) + D(by_gift or 0) for o, (_, by_card, by_gift) in ORDERS.items()}
        for order_id, total in totals.items():
            spent = sum((g.cost for g in counted if g.order_id == order_id), D(0))
            assert spent <= total + ORDER_EXTRA
        for case_id, (_, order_id, issue, _) in zip(self.case_ids, CASES, strict=True):
            spent = sum(
                (g.cost for g in counted if g.case_id == case_id and g.issue_type == issue), D(0)
            )
            assert spent <= totals[order_id] + ISSUE_EXTRA

    @invariant()
    def the_limits_count_exactly_the_grants_that_stand(self) -> None:
        found = self._grants()
        now = self.container.clock.now()
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        agent = self.actors["agent"].agent_id
        team_id = self._team_id()
        with self.container.uow() as uow:
            for order_id, (customer, _, _) in ORDERS.items():
                window = uow.grants.figures(
                    customer_id=customer,
                    case_id=None,
                    case_order_ids=[],
                    order_id=order_id,
                    agent_id=agent,
                    team_id=None,
                    budgets=[BudgetWindow(TEAM, day_start)],
                    day_start=day_start,
                    now=now,
                ).spend
                assert window.budget_spent == (
                    self._day_spent(found, agent_id=None, team_id=team_id),
                )
                assert window.agent_spent_today == self._day_spent(
                    found, agent_id=agent, team_id=None
                )
                assert window.order_spent == sum(
                    (
                        g.cost
                        for g in found
                        if g.order_id == order_id
                        and g.status is GrantStatus.EXECUTED
                        and g.reverses_grant_id is None
                    ),
                    D(0),
                )

    @invariant()
    def no_customer_is_told_of_nothing(self) -> None:
        with self.container.uow() as uow:
            told = [
                m.body
                for c in self.case_ids
                for m in uow.cases.messages(c)
                if m.kind is MessageKind.OUTBOUND
            ]
        assert not [body for body in told if " 0.00 " in body]

    @invariant()
    def the_customer_guardrail_holds(self) -> None:
        counted = [
            g
            for g in self._grants()
            if g.status is GrantStatus.EXECUTED and g.reverses_grant_id is None and g.cost > 0
        ]
        for customer in ("kai", "lia"):
            assert sum(g.customer_id == customer for g in counted) <= MAX_GRANTS_PER_CUSTOMER


def test_money_stays_safe_over_any_sequence_of_grants(container: Container) -> None:
    class OnThisDesk(MoneyDesk):
        def __init__(self) -> None:
            super().__init__(container)

    run_state_machine_as_test(
        OnThisDesk,
        settings=settings(
            max_examples=15,
            stateful_step_count=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
