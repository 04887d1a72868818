"""The tau-bench retail replay: same end states as the reference, and every violation refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from caredesk.cli.main import app
from caredesk.conformance.tau_retail import Replayer, compare
from caredesk.services.engine.policy import packaged_policy_text
from tests.datasets import dataset, needs_dataset

SAMPLE = Path(__file__).parent.parent / "data" / "tau_retail_sample"
FULL = dataset("tau-bench-retail")
needs_full = needs_dataset("tau-bench-retail")


@pytest.fixture(scope="module")
def replayer() -> Iterator[Replayer]:
    with Replayer(SAMPLE, packaged_policy_text("tau_retail")) as replayer:
        yield replayer


def _products() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLE / "products.json").read_text())
    return data


def _variant(
    product_id: str, *, available: bool, other_than: str, cheaper: bool | None = None
) -> str:
    for item_id, variant in _products()[product_id]["variants"].items():
        if item_id != other_than and variant["available"] is available:
            return str(item_id)
    raise AssertionError(f"no such variant of {product_id}")


def act(name: str, **kwargs: Any) -> dict[str, Any]:
    return {"name": name, "kwargs": kwargs}


def run(
    replayer: Replayer, user: str, *actions: dict[str, Any], confirmed: bool = True
) -> dict[str, Any]:
    return replayer.replay(0, {"user_id": user, "actions": list(actions)}, confirmed=confirmed)


def outcome(line: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    return [(r["status"], r["code"], r["rule"]) for r in line["results"]]


def test_cancel_refunds_the_payment(replayer: Replayer) -> None:
    line = run(
        replayer,
        "ivan_santos_6635",
        act("cancel_pending_order", order_id="#W8770097", reason="no longer needed"),
    )
    assert outcome(line) == [("done", None, None)]
    order = line["changed"]["orders"]["#W8770097"]
    assert order["status"] == "cancelled"
    assert order["cancel_reason"] == "no longer needed"
    assert order["payment_history"][-1] == {
        "transaction_type": "refund",
        "amount": 544.29,
        "payment_method_id": "paypal_6151711",
    }
    assert line["changed"]["users"] == {}


def test_cancel_credits_a_gift_card_at_once(replayer: Replayer) -> None:
    line = run(
        replayer,
        "anya_garcia_3271",
        act("cancel_pending_order", order_id="#W6436609", reason="ordered by mistake"),
    )
    card = line["changed"]["users"]["anya_garcia_3271"]["payment_methods"]["gift_card_4374071"]
    assert card["balance"] == pytest.approx(51 + 3005.33)


def test_a_refused_action_changes_nothing(replayer: Replayer) -> None:
    line = run(
        replayer,
        "ivan_santos_6635",
        act("cancel_pending_order", order_id="#W6893533", reason="no longer needed"),
    )
    assert outcome(line) == [("refused", "order_status", "cancel.pending_only")]
    assert line["changed"] == {"users": {}, "orders": {}, "products": {}}


@pytest.mark.parametrize(
    ("user", "action", "expected"),
    [
        (  # another user's order: refused by the service before the policy is asked
            "anya_garcia_3271",
            act("cancel_pending_order", order_id="#W8770097", reason="no longer needed"),
            ("refused", "not_customers", "identity.one_user"),
        ),
        (
            "ivan_santos_6635",
            act("cancel_pending_order", order_id="#W8770097", reason="too expensive"),
            ("refused", "validation_error", "cancel.reason"),
        ),
        (  # a payment method that is not the user's
            "ivan_santos_6635",
            act(
                "modify_pending_order_payment",
                order_id="#W5183325",
                payment_method_id="gift_card_4374071",
            ),
            ("refused", "invalid_payment_method", "payment_method.own"),
        ),
        (
            "anya_garcia_3271",
            act(
                "modify_pending_order_payment",
                order_id="#W6436609",
                payment_method_id="gift_card_4374071",
            ),
            ("refused", "invalid_payment_method", "modify_payment.different_method"),
        ),
        (  # the refund must go to the original method or a gift card
            "noah_brown_6181",
            act(
                "return_delivered_order_items",
                order_id="#W7678072",
                item_ids=["2323972008"],
                payment_method_id="credit_card_7815826",
            ),
            ("refused", "invalid_payment_method", "return.refund_destination"),
        ),
        (
            "noah_brown_6181",
            act(
                "exchange_delivered_order_items",
                order_id="#W7678072",
                item_ids=["2323972008"],
                new_item_ids=["2193628750"],
                payment_method_id="paypal_5727330",
            ),
            ("refused", "different_product", None),
        ),
        (
            "noah_brown_6181",
            act(
                "return_delivered_order_items",
                order_id="#W7678072",
                item_ids=["9999999999"],
                payment_method_id="paypal_5727330",
            ),
            ("refused", "item_not_in_order", None),
        ),
        (  # someone else's address
            "noah_brown_6181",
            act(
                "modify_user_address",
                user_id="ivan_santos_6635",
                address1="1 A St",
                address2="",
                city="X",
                state="CA",
                country="USA",
                zip="90001",
            ),
            ("refused", "not_customers", "identity.one_user"),
        ),
    ],
)
def test_violations_are_refused_with_their_rule(
    replayer: Replayer, user: str, action: dict[str, Any], expected: tuple[str, str, str | None]
) -> None:
    line = run(replayer, user, action)
    assert outcome(line) == [expected]
    assert line["changed"] == {"users": {}, "orders": {}, "products": {}}


def test_an_unconfirmed_change_is_refused(replayer: Replayer) -> None:
    line = run(
        replayer,
        "ivan_santos_6635",
        act("cancel_pending_order", order_id="#W8770097", reason="no longer needed"),
        confirmed=False,
    )
    assert outcome(line) == [("refused", "confirmation_required", "confirmation.explicit")]


def test_an_unavailable_exchange_item_is_refused(replayer: Replayer) -> None:
    product = "1075968781"
    line = run(
        replayer,
        "noah_brown_6181",
        act(
            "exchange_delivered_order_items",
            order_id="#W7678072",
            item_ids=["2323972008"],
            new_item_ids=[_variant(product, available=False, other_than="2323972008")],
            payment_method_id="paypal_5727330",
        ),
    )
    assert outcome(line) == [("refused", "item_unavailable", None)]


def test_items_are_modified_once_and_a_gift_card_never_goes_negative(replayer: Replayer) -> None:
    laptop = _products()["4760268021"]["variants"]
    pricey = next(
        i
        for i, v in laptop.items()
        if v["available"] and v["price"] - 2292.37 > 51 and i != "6017636844"
    )
    swap = act(
        "modify_pending_order_items",
        order_id="#W6436609",
        item_ids=["6017636844"],
        new_item_ids=[pricey],
        payment_method_id="gift_card_4374071",
    )
    assert outcome(run(replayer, "anya_garcia_3271", swap)) == [
        ("refused", "insufficient_balance", None)
    ]
    by_card = {**swap["kwargs"], "payment_method_id": "credit_card_8955149"}
    line = run(
        replayer, "anya_garcia_3271", act(swap["name"], **by_card), act(swap["name"], **by_card)
    )
    assert outcome(line) == [
        ("done", None, None),
        ("refused", "order_status", "modify.pending_only"),
    ]
    assert line["changed"]["orders"]["#W6436609"]["status"] == "pending (item modified)"


def test_a_second_exchange_is_refused(replayer: Replayer) -> None:
    other = _variant("1075968781", available=True, other_than="2323972008")
    exchange = act(
        "exchange_delivered_order_items",
        order_id="#W7678072",
        item_ids=["2323972008"],
        new_item_ids=[other],
        payment_method_id="paypal_5727330",
    )
    line = run(replayer, "noah_brown_6181", exchange, exchange)
    assert outcome(line) == [
        ("done", None, None),
        ("refused", "order_status", "exchange.delivered_only"),
    ]
    order = line["changed"]["orders"]["#W7678072"]
    assert order["status"] == "exchange requested"
    assert order["exchange_new_items"] == [other]
    assert isinstance(order["exchange_price_difference"], float)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@needs_full
@pytest.mark.parametrize("split", ["dev", pytest.param("train", marks=pytest.mark.slow)])
def test_replay_reproduces_the_reference_end_states(split: str, tmp_path: Path) -> None:
    out = tmp_path / f"{split}.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "conformance",
            "tau-retail",
            "--data",
            str(FULL),
            "--tasks",
            str(FULL / f"tasks_{split}.json"),
            "--out",
            str(out),
            "--expected",
            str(FULL / "expected" / f"tasks_{split}.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "0 mismatches" in result.output
    ours, theirs = _lines(out), _lines(FULL / "expected" / f"tasks_{split}.jsonl")
    assert len(ours) == len(theirs)
    assert all(compare(a, b) == [] for a, b in zip(ours, theirs, strict=True))


@needs_full
def test_generated_violations_of_the_dev_tasks_are_all_refused(tmp_path: Path) -> None:
    replayer = Replayer(FULL, packaged_policy_text("tau_retail"))
    tasks = json.loads((FULL / "tasks_dev.json").read_text())
    users = list(json.loads((FULL / "users.json").read_text()))
    writes = 0
    for index, task in enumerate(tasks):
        unconfirmed = replayer.replay(index, task, confirmed=False)
        stranger = next(u for u in users if u != task["user_id"])
        impostor = replayer.replay(index, {**task, "user_id": stranger})
        for line in (unconfirmed, impostor):
            assert all(r["status"] == "refused" for r in line["results"]), line["results"]
            assert line["changed"] == {"users": {}, "orders": {}, "products": {}}
        assert {r["code"] for r in unconfirmed["results"]} <= {"confirmation_required"}
        assert {r["code"] for r in impostor["results"]} <= {"not_customers"}
        writes += len(unconfirmed["results"])
    assert writes > 0


def test_the_cli_refuses_a_bad_tasks_file(tmp_path: Path) -> None:
    bad = tmp_path / "tasks.json"
    bad.write_text('{"not": "a list"}')
    result = CliRunner().invoke(
        app,
        [
            "conformance",
            "tau-retail",
            "--data",
            str(SAMPLE),
            "--tasks",
            str(bad),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 1
    assert "not a list of tasks" in result.output
