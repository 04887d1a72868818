"""Approvals for leads, an agent's own settings, administration."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import File, Form, Path, Query, Response, UploadFile
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from caredesk.domain.agents import Role
from caredesk.domain.errors import DomainError, ValidationFailed
from caredesk.domain.grants import ApprovalStatus
from caredesk.domain.policy.loading import PolicyInvalid
from caredesk.domain.policy.review import PolicyEmpty
from caredesk.services.access import auth
from caredesk.services.console import console, pages
from caredesk.services.engine import grants, policy
from caredesk.web.pages.common import PageVisit, ReadPage, WritePage, page_router, redirect
from caredesk.web.pages.forms import (
    AgentForm,
    DecisionForm,
    TimeZoneForm,
    TokenForm,
    WeeklySummaryForm,
)

router = page_router()
SmallId = Annotated[int, Path(ge=1, le=2**31 - 1)]
BigId = Annotated[int, Path(ge=1, le=2**63 - 1)]
MAX_POLICY_BYTES = 1_000_000


# --- approvals -------------------------------------------------------------------------------


@router.get("/approvals")
def approvals(
    visit: ReadPage, status: Annotated[str, Query(max_length=20)] = "pending"
) -> HTMLResponse:
    chosen = None if status == "all" else ApprovalStatus(status)
    return visit.render(
        "approvals.html",
        items=visit.read(console.approvals_screen, chosen),
        status=status,
        statuses=["pending", "approved", "denied", "all"],
    )


@router.post("/approvals/{approval_id}/decide")
def decide(approval_id: BigId, visit: WritePage, form: Annotated[DecisionForm, Form()]) -> Response:
    approve = form.says("approve", "deny")
    visit.run(grants.decide_approval, approval_id, approve=approve, note=form.note)
    return redirect("/approvals", "approved" if approve else "denied")


# --- your settings ---------------------------------------------------------------------------


def _settings(visit: PageVisit, **extra: Any) -> HTMLResponse:
    return visit.render(
        "settings.html",
        zones=sorted(available_timezones()),
        desk_time_zone=visit.container.settings.desk_timezone,
        now=visit.now(),
        status_code=int(str(extra.pop("status_code", 200))),
        **extra,
    )


@router.get("/settings")
def settings_page(visit: ReadPage) -> HTMLResponse:
    return _settings(visit)


@router.post("/settings/time-zone")
def set_own_time_zone(visit: WritePage, form: Annotated[TimeZoneForm, Form()]) -> Response:
    """Every agent, viewers too, chooses the zone they read times in; empty: the desk's."""
    agent_id = visit.who.agent.id
    assert agent_id is not None  # a signed-in agent is stored
    chosen = form.chosen()
    try:
        visit.run(auth.set_time_zone, agent_id, chosen)
    except DomainError as exc:
        return _settings(visit, form_error=exc.message, typed=chosen, status_code=422)
    return redirect("/settings", "saved")


@router.post("/settings/weekly-summary")
def set_own_weekly_summary(
    visit: WritePage, form: Annotated[WeeklySummaryForm, Form()]
) -> Response:
    """A lead (or admin) asks for the weekly summary by mail, or stops it."""
    agent_id = visit.who.agent.id
    assert agent_id is not None  # a signed-in agent is stored
    change = auth.AgentChange(keep_time_zone=True, weekly_summary=form.wanted())
    try:
        visit.run(auth.change_agent, agent_id, change)
    except DomainError as exc:
        return _settings(visit, summary_error=exc.message, status_code=422)
    return redirect("/settings", "saved")


# --- administration --------------------------------------------------------------------------


def _admin(visit: PageVisit, tab: str, **extra: Any) -> HTMLResponse:
    screen = visit.read(console.admin_screen)
    if tab == "agents":
        extra["locks"] = visit.read(auth.locked_agents, visit.now())
    return visit.admin_tab(
        tab,
        a=screen,
        roles=[r.value for r in Role],
        desk_time_zone=visit.container.settings.desk_timezone,
        status_code=int(str(extra.pop("status_code", 200))),
        **extra,
    )


@router.get("/admin")
def admin_home(visit: ReadPage) -> Response:
    return redirect("/admin/agents")


@router.get("/admin/agents")
def admin_agents(visit: ReadPage) -> HTMLResponse:
    return _admin(visit, "agents")


@router.post("/admin/agents")
def create_agent(visit: WritePage, form: Annotated[AgentForm, Form()]) -> Response:
    container = visit.container
    try:
        auth.create_agent(
            container.uow(), visit.who.actor, container.hasher, visit.now(), **form.new_agent()
        )
    except DomainError as exc:
        return _admin(visit, "agents", form_error=exc.message, form=form.fields(), status_code=422)
    return redirect("/admin/agents", "created")


@router.post("/admin/agents/{agent_id}/time-zone")
def set_agent_time_zone(
    agent_id: SmallId, visit: WritePage, form: Annotated[TimeZoneForm, Form()]
) -> Response:
    try:
        visit.run(auth.set_time_zone, agent_id, form.chosen())
    except DomainError as exc:
        return _admin(visit, "agents", form_error=exc.message, status_code=422)
    return redirect("/admin/agents", "saved")


@router.post("/admin/agents/{agent_id}/unlock")
def unlock_agent(agent_id: SmallId, visit: WritePage) -> Response:
    visit.run(auth.unlock_agent, agent_id)
    return redirect("/admin/agents", "unlocked")


@router.post("/admin/teams")
def create_team(visit: WritePage, name: Annotated[str, Form(max_length=100)]) -> Response:
    if not name.strip():
        raise ValidationFailed("a team needs a name", details={"field": "name"})
    try:
        visit.run(auth.create_team, name.strip())
    except DomainError as exc:
        return _admin(visit, "agents", team_error=exc.message, status_code=409)
    return redirect("/admin/agents", "created")


@router.get("/admin/tokens")
def admin_tokens(visit: ReadPage) -> HTMLResponse:
    return _admin(visit, "tokens")


@router.post("/admin/tokens")
def create_token(visit: WritePage, form: Annotated[TokenForm, Form()]) -> HTMLResponse:
    expires_at = pages.token_expiry(form.expires, visit.now())
    try:
        issued = visit.run(auth.create_token, **form.new_token(expires_at))
    except DomainError as exc:
        return _admin(visit, "tokens", form_error=exc.message, status_code=422)
    # The secret is shown on this response only; it is stored as a hash.
    return _admin(visit, "tokens", issued=issued)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(token_id: SmallId, visit: WritePage) -> Response:
    visit.run(auth.revoke_token, token_id)
    return redirect("/admin/tokens", "revoked")


def _policy_page(visit: PageVisit, **extra: Any) -> HTMLResponse:
    """The policy tab: the file in force (or the one sent back), and the changes waiting."""
    if "text" not in extra:
        extra["text"] = policy.active_policy(visit.container.uow.read_only()).text
    extra.setdefault("problems", [])
    changes = visit.read(policy.list_policy_changes)
    return _admin(visit, "policy", changes=changes, me=visit.who.actor.ref, **extra)


@router.get("/admin/policy")
def admin_policy(visit: ReadPage) -> HTMLResponse:
    return _policy_page(visit)


@router.post("/admin/policy")
async def upload_policy(
    visit: WritePage,
    text: Annotated[str, Form(max_length=MAX_POLICY_BYTES)] = "",
    file: Annotated[UploadFile | None, File()] = None,
    force: Annotated[bool, Form()] = False,
) -> Response:
    text = await _policy_text(text, file)
    return await run_in_threadpool(_propose_policy, visit, text, force)


async def _policy_text(typed: str, file: UploadFile | None) -> str:
    """The policy from the chosen file, else as pasted."""
    text = typed
    if file is not None and file.filename:
        raw = await file.read(MAX_POLICY_BYTES + 1)
        if len(raw) > MAX_POLICY_BYTES:
            raise ValidationFailed("the policy file is larger than 1 MB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed("the policy file is not UTF-8 text") from exc
    if not text.strip():
        raise ValidationFailed("paste the policy or choose a file", details={"field": "text"})
    return text


def _propose_policy(visit: PageVisit, text: str, force: bool) -> Response:
    """Load or propose the policy; a refusal shows the file again with what is wrong in it."""
    try:
        proposal = visit.run(policy.propose_policy, text, force=force)
    except PolicyInvalid as exc:
        return _policy_page(visit, text=text, problems=exc.problems, status_code=422)
    except PolicyEmpty as exc:
        return _policy_page(
            visit, text=text, form_error=exc.message, offer_force=True, status_code=422
        )
    except DomainError as exc:
        return _policy_page(visit, text=text, form_error=exc.message, status_code=409)
    if proposal.change is not None:
        return redirect(f"/admin/policy#change-{proposal.change.id}", "policy_proposed")
    return redirect("/admin/policy", "policy_loaded")


@router.post("/admin/policy/changes/{change_id}/decide")
def decide_policy_change(
    change_id: SmallId, visit: WritePage, form: Annotated[DecisionForm, Form()]
) -> Response:
    confirm = form.says("confirm", "reject")
    decide = policy.confirm_policy_change if confirm else policy.reject_policy_change
    visit.run(decide, change_id, form.note)
    return redirect("/admin/policy", "policy_confirmed" if confirm else "policy_rejected")
