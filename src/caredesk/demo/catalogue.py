"""The demo store's products and their variants, made from catalogue.yaml: every combination
of a product's options is a variant, with its price, a drawn cost and a drawn stock."""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal
from functools import cache

from caredesk.demo.schema import ProductRow, slug
from caredesk.demo.tables import catalogue_data
from caredesk.domain.catalog import Product, Variant
from caredesk.domain.money import CENT, ZERO


def category(product: Product) -> str:
    return product.description.partition(":")[0].lower()


def _combinations(row: ProductRow) -> list[tuple[dict[str, str], Decimal]]:
    """Each variant's options and price, in the order the options are written."""
    combos: list[tuple[dict[str, str], Decimal]] = [({}, row.price)]
    for axis, values in row.options.items():
        extras = row.surcharges.get(axis, {})
        combos = [
            ({**options, axis: value}, price + extras.get(value, ZERO))
            for options, price in combos
            for value in values
        ]
    return combos


def build_catalogue(rng: random.Random) -> dict[str, Product]:
    data = catalogue_data()
    products: dict[str, Product] = {}
    for number, row in enumerate(data.products, start=1):
        variants = []
        for position, (options, price) in enumerate(_combinations(row), start=1):
            rate = data.cost_rates[row.category] * Decimal(rng.randint(90, 110)) / 100
            in_stock = rng.random() > 0.08
            variants.append(
                Variant(
                    id=_variant_id(row.name, options),
                    product_id=row.id,
                    options=options,
                    price=price.quantize(CENT),
                    available=in_stock if row.available is None else row.available,
                    cost=(price * rate).quantize(CENT),
                    sku=f"{row.category[:3].upper()}-{number:03d}-{position:02d}",
                )
            )
        description = f"{row.category.capitalize()}: {row.about}"
        products[row.id] = Product(row.id, row.name, description, variants)
    return products


def _variant_id(name: str, options: dict[str, str]) -> str:
    return slug(" ".join([name, *options.values()]))


@cache
def _sale_windows() -> dict[str, tuple[int | None, int | None]]:
    return {p.id: (p.first_sold_days_ago, p.last_sold_days_ago) for p in catalogue_data().products}


def on_sale(product_id: str, placed: datetime, now: datetime) -> bool:
    """Whether the product was sold when the order was placed (the 450 replaced the 350)."""
    first, last = _sale_windows()[product_id]
    days_ago = (now - placed).days
    return (first is None or days_ago <= first) and (last is None or days_ago >= last)


def variant(products: dict[str, Product], product_id: str, options: dict[str, str]) -> Variant:
    """The product's variant with these options (all of them, or the first if none)."""
    return next(
        v
        for v in products[product_id].variants
        if all(v.options.get(k) == o for k, o in options.items())
    )
