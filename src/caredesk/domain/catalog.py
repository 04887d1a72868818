"""The catalogue: products and the variants a customer actually buys."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(slots=True)
class Variant:
    id: str
    product_id: str
    options: dict[str, str]
    price: Decimal
    available: bool = True
    cost: Decimal | None = None
    sku: str | None = None


@dataclass(slots=True)
class Product:
    id: str
    name: str
    description: str = ""
    variants: list[Variant] = field(default_factory=list)

    def variant(self, variant_id: str) -> Variant | None:
        return next((v for v in self.variants if v.id == variant_id), None)
