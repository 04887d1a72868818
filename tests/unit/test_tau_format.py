"""A tau-bench record's map key and the id inside it must agree; a file where they do not
is refused with both, so the broken record can be found."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from caredesk.conformance import tau_format
from caredesk.domain.errors import ValidationFailed


def test_a_payment_method_filed_under_another_id_is_refused_with_both() -> None:
    user = {
        "name": {"first_name": "Ada", "last_name": "Lovelace"},
        "email": "ada@example.com",
        "address": {
            "address1": "1 Main St",
            "address2": "",
            "city": "London",
            "country": "UK",
            "state": "",
            "zip": "N1",
        },
        "payment_methods": {"card_1": {"source": "credit_card", "id": "card_2"}},
    }
    with pytest.raises(ValidationFailed) as refused:
        tau_format.customer_from_tau("ada_1", user, datetime(2026, 1, 1, tzinfo=UTC))
    assert refused.value.message == "user ada_1: payment method key card_1 != id card_2"


def test_a_variant_filed_under_another_item_id_is_refused_with_both() -> None:
    variant = {"item_id": "222", "options": {}, "price": 10.0, "available": True}
    product = {"product_id": "p1", "name": "Lamp", "variants": {"111": variant}}
    with pytest.raises(ValidationFailed) as refused:
        tau_format.product_from_tau(product)
    assert refused.value.message == "product p1: variant key 111 != item_id 222"
