"""The lifecycle's settings: the desk's time zone, grace periods and scan thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, timedelta, tzinfo

from caredesk.domain.lifecycle import ScanThresholds


@dataclass(frozen=True, slots=True)
class LifecycleOptions:
    """The desk's lifecycle settings, bound once by bootstrap."""

    timezone: tzinfo = UTC
    reopen_grace: timedelta = timedelta(days=7)
    commitment_warning: timedelta = timedelta(hours=1)
    scan: ScanThresholds = field(default_factory=ScanThresholds)
    notify_customer: bool = True
