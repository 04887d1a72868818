"""The operation each kind of remedy runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from caredesk.domain.policy.model import Policy, RemedyDef, RemedyKind
from caredesk.domain.policy.remedies.compensation import (
    flat_cost,
    keep_item,
    refund,
    ship_free,
    store_credit,
)
from caredesk.domain.policy.remedies.customer_changes import (
    cancel,
    exchange,
    modify_address,
    modify_items,
    modify_payment,
    return_items,
    update_profile_address,
)
from caredesk.domain.policy.remedies.workspace import Effect, Workspace


def apply(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any], policy: Policy) -> Effect:
    kind = remedy.kind
    if kind is RemedyKind.UPDATE_PROFILE_ADDRESS:
        return update_profile_address(ws, remedy, params)
    if kind is RemedyKind.CANCEL:
        return cancel(ws, remedy, params)
    if kind is RemedyKind.MODIFY_ADDRESS:
        return modify_address(ws, remedy, params)
    if kind is RemedyKind.MODIFY_ITEMS:
        return modify_items(ws, remedy, params)
    if kind is RemedyKind.MODIFY_PAYMENT:
        return modify_payment(ws, remedy, params)
    if kind in (RemedyKind.RETURN_LABEL,):
        return return_items(ws, remedy, params, policy)
    if kind is RemedyKind.EXCHANGE:
        return exchange(ws, remedy, params, policy)
    if kind is RemedyKind.REFUND:
        return refund(ws, remedy, params, policy)
    if kind in (RemedyKind.STORE_CREDIT, RemedyKind.SHIPPING_CREDIT):
        return store_credit(ws, remedy, params, policy)
    if kind in (RemedyKind.REPLACEMENT, RemedyKind.UPGRADE):
        return ship_free(ws, remedy, params, policy)
    if kind is RemedyKind.KEEP_ITEM:
        return keep_item(ws, remedy, params, policy)
    return flat_cost(ws, remedy, params, policy)
