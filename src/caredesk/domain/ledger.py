"""Double-entry ledger postings: every movement of money is a balanced set of entries.

A positive amount debits an account, a negative one credits it. Accounts are named:
`refunds`, `sales`, `goodwill:<what>`, `payable:<payment method>` (owed back to a card or
wallet), `receivable:<payment method>` (to be charged), `giftcard:<payment method>` (the
store's liability on a gift card), `storecredit:<customer>`, `inventory`, `carrier`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from caredesk.domain.customers import PaymentKind, PaymentMethod
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.money import ZERO, money_sum

# What a grant costs the store is what its remedies debit to these accounts: money refunded,
# and goodwill (credit, goods and shipping given, fees waived). Other movements (a cancelled
# order's payment returned from sales, a payment moved) cost nothing.
REFUNDS_ACCOUNT = "refunds"
GOODWILL_PREFIX = "goodwill:"


def is_cost(account: str, amount: Decimal) -> bool:
    return amount > ZERO and (account == REFUNDS_ACCOUNT or account.startswith(GOODWILL_PREFIX))


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    amount: Decimal
    memo: str = ""


def check_balanced(postings: list[Posting]) -> None:
    total = money_sum([p.amount for p in postings])
    if total != ZERO:
        raise DomainError(
            f"ledger entries do not balance (off by {total})", code=ErrorCode.CONFLICT
        )


def wallet_account(method: PaymentMethod) -> str:
    """Where money owed to or from this payment method is booked."""
    if method.kind is PaymentKind.GIFT_CARD:
        return f"giftcard:{method.id}"
    if method.kind is PaymentKind.STORE_CREDIT:
        return f"storecredit:{method.id}"
    return f"payable:{method.id}"


def refund_to(method: PaymentMethod, amount: Decimal, source: str, memo: str) -> list[Posting]:
    """Money goes back to the customer: the store's `source` is debited."""
    return [Posting(source, amount, memo), Posting(wallet_account(method), -amount, memo)]


def charge_from(method: PaymentMethod, amount: Decimal, memo: str) -> list[Posting]:
    """The customer pays the store, from a balance or an external method."""
    account = (
        wallet_account(method)
        if method.kind in (PaymentKind.GIFT_CARD, PaymentKind.STORE_CREDIT)
        else f"receivable:{method.id}"
    )
    return [Posting(account, amount, memo), Posting("sales", -amount, memo)]
