"""Request rates: "N/second", "N/minute", "N/hour" or "N/day", as settings and tokens say them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from caredesk.domain.errors import must_match

UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
RATE_PATTERN = r"^\s*[1-9][0-9]{0,8}\s*/\s*(second|minute|hour|day)\s*$"
_RATE = re.compile(RATE_PATTERN)


@dataclass(frozen=True, slots=True)
class Rate:
    amount: int
    unit: str

    @classmethod
    def parse(cls, text: str) -> Rate:
        refusal = f"{text!r} is no rate: write it as N/second, N/minute, N/hour or N/day"
        must_match(_RATE, text, refusal, "rate_limit")
        amount, _, unit = text.partition("/")
        return cls(int(amount), unit.strip())

    @property
    def seconds(self) -> int:
        return UNIT_SECONDS[self.unit]

    def __str__(self) -> str:
        return f"{self.amount}/{self.unit}"
