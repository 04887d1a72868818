"""The demo store's knowledge base: the known-issue article the seed stories need, a few
help-centre answers, and the macros agents insert from the case page.

Every article here is public: what the desk does about a problem, and anything else meant
for agents, goes in `internal_notes`, never in the body customers read.

Kept apart from the store generator so the knowledge can grow without touching the orders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from caredesk.domain.agents import SYSTEM
from caredesk.domain.knowledge import ArticleKind, ArticleStatus, Visibility
from caredesk.services.core.ports import UnitOfWorkFactory
from caredesk.services.knowledge import knowledge

LABELWRITER_ARTICLE_SLUG = "labelwriter-350-stops-printing-after-os-upgrade"

ARTICLES: list[dict[str, Any]] = [
    {
        "slug": LABELWRITER_ARTICLE_SLUG,
        "title": "LabelWriter 350 stops printing after an operating system upgrade",
        "tags": ["known-issue", "printers"],
        "product_ids": ["inkwell-labelwriter-350"],
        "body": (
            "The LabelWriter 350 uses a driver that the latest operating system releases no "
            "longer load. Reinstalling the driver does not help, and no fix is coming: the "
            "printer is out of production. It is not your fault, and your settings are fine: "
            "write to us with your order number and we will put it right."
        ),
        "internal_notes": (
            "**What we do:** we send the customer a LabelWriter 450 free of charge, without "
            "asking for the old unit back. The policy's `labelwriter-upgrade` program grants "
            "it; the case page offers it first.\n\n"
            "**What to tell the customer:** it is not their fault, the settings are fine, and "
            "a newer model is on its way."
        ),
    },
    {
        "slug": "when-a-promised-delivery-date-is-missed",
        "title": "When a promised delivery date is missed",
        "tags": ["shipping", "late-delivery"],
        "body": (
            "If your order has not arrived by the date we promised, tell us. We check the "
            "tracking, tell you plainly where your parcel is and when it will arrive, and "
            "make up for the date we did not keep."
        ),
        "internal_notes": (
            "Check the shipment's tracking and the date we promised. If we missed it, say so "
            "plainly, give the new date, and refund the shipping: the customer paid for a "
            "date we did not keep. For a gift or an event, offer to expedite a replacement."
        ),
    },
    {
        "slug": "wrong-items-in-the-parcel",
        "title": "Wrong items in the parcel",
        "tags": ["returns", "wrong-item"],
        "body": (
            "If your parcel holds the wrong items, tell us: we send the right ones at once, "
            "and you never pay for our mistake."
        ),
        "internal_notes": (
            "Ship the right items at once. When the wrong ones cost more to take back than "
            "they would recover, let the customer keep them; otherwise send a prepaid return "
            "label. Never ask the customer to pay for our mistake."
        ),
    },
    {
        "slug": "returns-and-refunds",
        "title": "Returns and refunds",
        "tags": ["returns"],
        "body": (
            "Items can be returned within the return window for a refund to the original "
            "payment. Members have a longer window. A refund reaches the card in 5 to 10 "
            "working days."
        ),
    },
]

# A macro names its product and intent like an article, so it is suggested only where it fits.
MACROS: list[dict[str, Any]] = [
    {
        "slug": "macro-newer-model-on-its-way",
        "title": "A newer model is on its way",
        "tags": ["known-issue", "printers"],
        "product_ids": ["inkwell-labelwriter-350"],
        "body": (
            "Hi {{ first_name }},\n\nYou are not the only one, and it is not your settings: "
            "the latest system update stopped the LabelWriter 350 from working. We are sending "
            "you a LabelWriter 450 free of charge; keep the old one.\n\n"
            "Best,\n{{ agent_first_name }}"
        ),
    },
    {
        "slug": "macro-sorry-for-the-late-delivery",
        "title": "Sorry for the late delivery",
        "tags": ["shipping", "late-delivery"],
        "body": (
            "Hi {{ first_name }},\n\nWe promised order {{ order_id }} by {{ promised_date }} "
            "and missed it. I am sorry. Here is what I have done about it:\n\n\n\n"
            "Best,\n{{ agent_first_name }}"
        ),
    },
]


def load_demo_knowledge(uow_factory: UnitOfWorkFactory, now: datetime, known_issue: str) -> int:
    """Write the demo articles and macros, and the known issue that points at its article.

    Returns how many articles were written.
    """
    written = 0
    issue_article_id: int | None = None
    for item in ARTICLES:
        article = knowledge.create_article(
            uow_factory(),
            SYSTEM,
            now,
            title=str(item["title"]),
            body=str(item["body"]),
            internal_notes=str(item.get("internal_notes", "")),
            slug=str(item["slug"]),
            tags=list(item.get("tags", [])),
            product_ids=list(item.get("product_ids", [])),
            visibility=Visibility.PUBLIC,
            status=ArticleStatus.PUBLISHED,
        )
        written += 1
        if item["slug"] == LABELWRITER_ARTICLE_SLUG:
            issue_article_id = article.id
    for macro in MACROS:
        knowledge.create_article(
            uow_factory(),
            SYSTEM,
            now,
            title=str(macro["title"]),
            body=str(macro["body"]),
            slug=str(macro["slug"]),
            tags=list(macro.get("tags", [])),
            product_ids=list(macro.get("product_ids", [])),
            kind=ArticleKind.MACRO,
            status=ArticleStatus.PUBLISHED,
        )
        written += 1
    knowledge.create_known_issue(
        uow_factory(),
        SYSTEM,
        now,
        key=known_issue,
        title="LabelWriter 350 fails after the operating system upgrade",
        description="The old driver no longer loads; the 350 is out of production.",
        product_ids=["inkwell-labelwriter-350"],
        conditions=["labelwriter|label printer", "upgrade|update|updated"],
        article_id=issue_article_id,
        program_id="labelwriter-upgrade",
    )
    return written
