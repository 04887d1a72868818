"""The operation each kind of remedy runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from caredesk.domain.policy.model import Policy, RemedyDef, RemedyKind
from caredesk.domain.policy.remedies import compensation, customer_changes
from caredesk.domain.policy.remedies.workspace import Effect, Workspace

# The changes a customer asks for run without the policy; every other kind reads its costs.
_CHANGES: dict[RemedyKind, Callable[[Workspace, RemedyDef, Mapping[str, Any]], Effect]] = {
    RemedyKind.UPDATE_PROFILE_ADDRESS: customer_changes.update_profile_address,
    RemedyKind.CANCEL: customer_changes.cancel,
    RemedyKind.MODIFY_ADDRESS: customer_changes.modify_address,
    RemedyKind.MODIFY_ITEMS: customer_changes.modify_items,
    RemedyKind.MODIFY_PAYMENT: customer_changes.modify_payment,
}
_PRICED: dict[RemedyKind, Callable[[Workspace, RemedyDef, Mapping[str, Any], Policy], Effect]] = {
    RemedyKind.RETURN_LABEL: customer_changes.return_items,
    RemedyKind.EXCHANGE: customer_changes.exchange,
    RemedyKind.REFUND: compensation.refund,
    RemedyKind.STORE_CREDIT: compensation.store_credit,
    RemedyKind.SHIPPING_CREDIT: compensation.store_credit,
    RemedyKind.REPLACEMENT: compensation.ship_free,
    RemedyKind.UPGRADE: compensation.ship_free,
    RemedyKind.KEEP_ITEM: compensation.keep_item,
}


def apply(ws: Workspace, remedy: RemedyDef, params: Mapping[str, Any], policy: Policy) -> Effect:
    change = _CHANGES.get(remedy.kind)
    if change is not None:
        return change(ws, remedy, params)
    # Fee waivers, expediting and gestures: a flat cost.
    return _PRICED.get(remedy.kind, compensation.flat_cost)(ws, remedy, params, policy)
