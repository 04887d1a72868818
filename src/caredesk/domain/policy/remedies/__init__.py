"""What each remedy does: pure operations on copies of the order and the customer.

Each operation checks the invariants no policy can relax (items exist, money never goes
below zero, an exchange stays within one product) and returns an Effect: the new states,
the balanced ledger postings, the cost to the store, and what to tell the customer.
Eligibility (who may have what, when) is the policy's business, checked before this runs.

The operations live by kind: changes a customer asks for (`customer_changes`), remedies the
desk grants (`compensation`), what they share (`workspace`), and which runs for each kind of
remedy (`kinds`). This package names them all.
"""

from __future__ import annotations

from caredesk.domain.policy.remedies.compensation import (
    flat_cost,
    keep_item,
    refund,
    resolve_amount,
    ship_free,
    store_credit,
)
from caredesk.domain.policy.remedies.customer_changes import (
    address_param,
    cancel,
    exchange,
    modify_address,
    modify_items,
    modify_payment,
    return_items,
    update_profile_address,
)
from caredesk.domain.policy.remedies.kinds import (
    apply,
)
from caredesk.domain.policy.remedies.workspace import (
    Effect,
    Workspace,
)

__all__ = [
    "Effect",
    "Workspace",
    "address_param",
    "apply",
    "cancel",
    "exchange",
    "flat_cost",
    "keep_item",
    "modify_address",
    "modify_items",
    "modify_payment",
    "refund",
    "resolve_amount",
    "return_items",
    "ship_free",
    "store_credit",
    "update_profile_address",
]
