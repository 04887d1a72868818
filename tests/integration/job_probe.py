"""A test-only job handler, loaded by a worker through CAREDESK_JOB_PLUGINS.

Its effect (one audit event per probe name) is written only if absent, the way every
handler must be idempotent; with `hang_first` its first run blocks so a test can kill it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from caredesk.domain.agents import SYSTEM
from caredesk.domain.events import Changed
from caredesk.services.core.jobs import HandlerRegistry, JobContext

KIND = "test.probe"


def probe(ctx: JobContext, payload: dict[str, Any]) -> None:
    marker = Path(payload["marker"])
    with marker.open("a", encoding="utf-8") as file:
        file.write(f"start {os.getpid()}\n")
    if payload.get("hang_first") and marker.read_text(encoding="utf-8").count("start") == 1:
        time.sleep(600)  # the test kills this process here
    with ctx.uow() as uow:
        if not uow.audit.for_entity("job_probe", payload["name"]):
            uow.publish(
                Changed(
                    actor=SYSTEM,
                    at=ctx.clock.now(),
                    action="job_probe.done",
                    entity_type="job_probe",
                    entity_id=payload["name"],
                )
            )
            uow.commit()


def register(registry: HandlerRegistry) -> None:
    registry.register(KIND, probe)
