"""The outbox in the administration: mail the desk kept instead of sending it (the
development transport), and outbound mail that a server refused, with its error."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response
from fastapi.responses import HTMLResponse

from caredesk.services.channels import outbox
from caredesk.services.core import jobs
from caredesk.web.pages.common import ReadPage, WritePage, page_router, redirect

router = page_router()
BigId = Annotated[int, Path(ge=1, le=2**63 - 1)]
# A kept message is drawn in an iframe without scripts, forms or remote content: it is
# mail, and mail may carry whatever its template or a customer's quoted text put in it.
FRAME_POLICY = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "img-src data:; style-src 'unsafe-inline'\">"
)


@router.get("/admin/outbox")
def outbox_list(visit: ReadPage) -> HTMLResponse:
    settings = visit.container.settings
    return visit.admin_tab(
        "outbox",
        transport=settings.outbound_transport,
        smtp=f"{settings.smtp_host}:{settings.smtp_port}",
        caught=visit.read(outbox.caught_mail),
        undelivered=visit.read(outbox.undelivered_mail),
    )


@router.get("/admin/outbox/{caught_id}")
def outbox_mail(caught_id: BigId, visit: ReadPage) -> HTMLResponse:
    message = visit.read(outbox.open_caught, caught_id)
    frame = FRAME_POLICY + message.view.html if message.view and message.view.html else None
    return visit.render("admin_outbox_mail.html", tab="outbox", message=message, frame=frame)


@router.post("/admin/outbox/jobs/{job_id}/retry")
def retry_mail(job_id: BigId, visit: WritePage) -> Response:
    visit.run(jobs.retry_job, job_id)
    return redirect("/admin/outbox", "mail_retried")
