"""What cases need from storage: customers, the catalogue, orders, cases and their files."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from caredesk.domain.cases import Case, CaseStatus, Channel, Message, Priority
from caredesk.domain.catalog import Product, Variant
from caredesk.domain.customers import Customer
from caredesk.domain.orders import Order
from caredesk.services.core.ports import Page, Repository


@dataclass(frozen=True, slots=True)
class CaseFilter:
    status: Sequence[CaseStatus] = ()
    assignee_id: int | None = None
    unassigned: bool = False
    team_id: int | None = None
    # The cases of no team, as `unassigned` are those of no agent; either wins over the id.
    no_team: bool = False
    tag: str | None = None
    customer_id: str | None = None
    updated_since: datetime | None = None
    text: str | None = None
    external_id: str | None = None
    # For /api/v2 search: any of these priorities, any of `tags_any`, none of `tags_none`,
    # created from `created_from` and before `created_before`, updated before
    # `updated_before`, and none of the words of `text_absent` (each as `text` reads one).
    priority: Sequence[Priority] = ()
    tags_any: Sequence[str] = ()
    tags_none: Sequence[str] = ()
    created_from: datetime | None = None
    created_before: datetime | None = None
    updated_before: datetime | None = None
    text_absent: Sequence[str] = ()
    # For reports and their drill-down queues: any of these channels, and a case granted that
    # remedy (an executed grant, a reversed one included).
    channel: Sequence[Channel] = ()
    remedy: str | None = None


class CustomerRepository(Repository[Customer, str], Protocol):
    def delete(self, customer_id: str) -> None: ...

    def email_owner(self, email: str) -> str | None: ...

    def search(self, query: str | None, limit: int, cursor: str | None) -> Page[Customer]: ...

    def iterate(self) -> Iterator[Customer]: ...

    def has_history(self, customer_id: str) -> bool: ...


class ProductRepository(Repository[Product, str], Protocol):
    def get_variant(self, variant_id: str) -> Variant | None: ...

    def variants(self, product_ids: set[str], variant_ids: set[str]) -> list[Variant]:
        """Every variant of these products, plus these variants, in one read."""
        ...

    def find(self, limit: int, cursor: str | None) -> Page[Product]: ...

    def iterate(self) -> Iterator[Product]: ...


class OrderRepository(Repository[Order, str], Protocol):
    def many(self, order_ids: Collection[str]) -> list[Order]:
        """The orders of these ids (those that exist), in one query."""
        ...

    def for_customer(self, customer_id: str) -> list[Order]: ...

    def owned_items(self, customer_id: str) -> tuple[set[str], set[str]]:
        """The product ids and the variant ids on any of the customer's orders."""
        ...

    def latest_id(self, customer_id: str) -> str | None: ...

    def iterate(self) -> Iterator[Order]: ...


class CaseRepository(Repository[Case, int], Protocol):
    def get_for_change(self, case_id: int) -> Case | None:
        """The case, held against other writers until the unit of work ends: a change made
        at the same moment waits for this one and then reads what it left."""
        ...

    def many(self, case_ids: Collection[int]) -> list[Case]:
        """The cases of these ids (those that exist), in one query."""
        ...

    def save(self, case: Case) -> None:
        """Persist changes; raises a version conflict if someone saved in between."""
        ...

    def find(self, filters: CaseFilter, limit: int, cursor: str | None) -> Page[Case]: ...

    def count(self, filters: CaseFilter) -> int:
        """How many cases meet the filters, in one query."""
        ...

    def with_customers_newest(self, case_id: int, limit: int) -> tuple[Case | None, list[Case]]:
        """The case, and its customer's `limit` most recently updated cases (it among them if
        it is one), newest first, read together; `get` then finds any of them again without
        another read."""
        ...

    def add_message(self, message: Message) -> None: ...

    def messages(self, case_id: int) -> list[Message]: ...


class BlobStore(Protocol):
    def put(self, content: bytes) -> str:
        """Store content once under its SHA-256 and return the hash."""
        ...

    def get(self, sha256: str) -> bytes | None: ...


# A unit of work that reaches these repositories: features compose their own unit from these.
class HasCustomers(Protocol):
    @property
    def customers(self) -> CustomerRepository: ...


class HasProducts(Protocol):
    @property
    def products(self) -> ProductRepository: ...


class HasOrders(Protocol):
    @property
    def orders(self) -> OrderRepository: ...


class HasCases(Protocol):
    @property
    def cases(self) -> CaseRepository: ...


class HasBlobs(Protocol):
    @property
    def blobs(self) -> BlobStore: ...
