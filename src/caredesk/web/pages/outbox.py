"""The outbox in the administration: mail the desk kept instead of sending it (the
development transport), and outbound mail that a server refused, with its error."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request, Response
from fastapi.responses import HTMLResponse

from caredesk.services.channels import outbox
from caredesk.services.core import jobs
from caredesk.web.deps import ContainerDep
from caredesk.web.pages.common import Reader, Writer, page_router, redirect, render

router = page_router()
BigId = Annotated[int, Path(ge=1, le=2**63 - 1)]
# A kept message is drawn in an iframe without scripts, forms or remote content: it is
# mail, and mail may carry whatever its template or a customer's quoted text put in it.
FRAME_POLICY = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "img-src data:; style-src 'unsafe-inline'\">"
)


@router.get("/admin/outbox")
def outbox_list(request: Request, who: Reader, container: ContainerDep) -> HTMLResponse:
    uow = container.uow.read_only
    return render(
        request,
        "admin_outbox.html",
        who,
        tab="outbox",
        transport=container.settings.outbound_transport,
        smtp=f"{container.settings.smtp_host}:{container.settings.smtp_port}",
        caught=outbox.caught_mail(uow(), who.actor),
        undelivered=outbox.undelivered_mail(uow(), who.actor),
        push_url="/admin/outbox",
    )


@router.get("/admin/outbox/{caught_id}")
def outbox_mail(
    request: Request, caught_id: BigId, who: Reader, container: ContainerDep
) -> HTMLResponse:
    message = outbox.open_caught(container.uow.read_only(), who.actor, caught_id)
    frame = FRAME_POLICY + message.view.html if message.view and message.view.html else None
    return render(
        request, "admin_outbox_mail.html", who, tab="outbox", message=message, frame=frame
    )


@router.post("/admin/outbox/jobs/{job_id}/retry")
def retry_mail(job_id: BigId, who: Writer, container: ContainerDep) -> Response:
    who.run(container, jobs.retry_job, job_id)
    return redirect("/admin/outbox", "mail_retried")
