"""Reading and writing the tau-bench retail files (users.json, products.json, orders.json)."""

from __future__ import annotations

import json
from pathlib import Path

from caredesk.conformance.tau_format import TauStore
from caredesk.domain.errors import ValidationFailed

FILES = ("users", "products", "orders")


def read_dir(directory: Path) -> TauStore:
    parts = {}
    for name in FILES:
        path = directory / f"{name}.json"
        if not path.is_file():
            raise ValidationFailed(f"{path} is missing")
        try:
            parts[name] = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationFailed(f"{path} is not valid JSON: {exc}") from exc
        if not isinstance(parts[name], dict):
            raise ValidationFailed(f"{path} must hold one JSON object keyed by id")
    return TauStore(users=parts["users"], products=parts["products"], orders=parts["orders"])


def write_dir(directory: Path, store: TauStore) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        content = json.dumps(getattr(store, name), indent=4, ensure_ascii=False)
        (directory / f"{name}.json").write_text(content + "\n", encoding="utf-8")
