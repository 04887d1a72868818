"""The agent console in chromium: the issue's scenarios, end to end over the demo store."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, Route, expect

from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import CaseStatus, Channel
from caredesk.domain.grants import GrantStatus
from caredesk.services.cases import cases
from caredesk.services.cases.ports import CaseFilter
from tests.browser.conftest import LiveServer, screenshot

AGENT = "alex@caredesk.example"
LEAD = "lena.lead@caredesk.example"
ADMIN = "admin@caredesk.example"
VIEWER = "vic.viewer@caredesk.example"
SignIn = Callable[[str], Page]


def story_case(live: LiveServer, subject_start: str) -> int:
    """The id of the demo's seed-story case whose subject starts so."""
    with live.container.uow.read_only() as uow:
        found = uow.cases.find(CaseFilter(tag="seed-story"), 50, None).items
    for case in found:
        if case.subject.startswith(subject_start):
            assert case.id is not None
            return case.id
    raise AssertionError(f"no seed-story case starts with {subject_start!r}")


def fresh_story_case(live: LiveServer, subject_start: str) -> int:
    """A new case telling a seed story: other tests may have granted or solved the demo's own."""
    story = cases.get_case(live.container.uow(), SYSTEM, story_case(live, subject_start))
    fresh = cases.create_case(
        live.container.uow(),
        SYSTEM,
        live.container.clock.now(),
        customer_id=story.case.customer_id,
        subject=story.case.subject,
        body=story.messages[0].body,
        order_ids=story.case.order_ids,
    )
    assert fresh.case.id is not None
    return fresh.case.id


def test_sign_in_out_and_role_aware_navigation(live: LiveServer, sign_in: SignIn) -> None:
    page = sign_in(AGENT)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name=re.compile("Queues"))).to_be_visible()
    expect(nav.get_by_role("link", name="Admin", exact=True)).to_have_count(0)
    expect(nav.get_by_role("link", name=re.compile("Approvals"))).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("signed out")
    page.goto(live.url("/queue"))
    expect(page).to_have_url(re.compile(r"/login\?next="))
    screenshot(page, "login")

    admin = sign_in(ADMIN)
    nav = admin.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Admin", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name=re.compile("Approvals"))).to_be_visible()


def test_wrong_password_is_refused_in_place(live: LiveServer, new_context: Callable) -> None:
    page = new_context().new_page()
    page.goto(live.url("/login"))
    page.get_by_label("Email").fill(AGENT)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login"))


def test_work_the_label_printer_story_end_to_end(live: LiveServer, sign_in: SignIn) -> None:
    case_id = story_case(live, "LabelWriter 350")
    page = sign_in(AGENT)
    page.goto(live.url("/queue?view=mine"))
    screenshot(page, "queue")
    page.get_by_role("link", name=re.compile("LabelWriter 350 stopped working")).click()
    expect(page).to_have_url(re.compile(rf"/cases/{case_id}$"))

    # The story, and the known issue's article with the company's decision.
    expect(page.locator(".entry-inbound").first).to_contain_text("won't print")
    knowledge = page.locator("section.panel-knowledge")
    expect(knowledge.locator(".kb-pinned")).to_contain_text(
        "LabelWriter 350 stops printing after an operating system upgrade"
    )
    expect(page.locator("section.panel-known-issue")).to_contain_text("labelwriter-upgrade")
    top = page.locator("li.top-offer")
    expect(top).to_contain_text("Send the newer model free")

    top.get_by_role("button", name="Grant").click()
    expect(page.get_by_role("status")).to_contain_text("Granted")
    expect(page.locator('.entry-grant [title="upgrade-known-issue"]')).to_be_visible()

    # The desk's decision is on the page for the agent, marked internal.
    expect(knowledge.locator(".kb-pinned .kb-internal")).to_contain_text("Internal")
    expect(knowledge.locator(".kb-pinned .kb-internal")).to_contain_text(
        "LabelWriter 450 free of charge"
    )

    # Reply with the known-issue article's public words, then solve.
    knowledge.locator(".kb-pinned").get_by_role("button", name=re.compile("Insert")).click()
    body = page.get_by_label("Message", exact=True)
    expect(body).to_have_value(re.compile("out of production"))
    expect(body).not_to_have_value(re.compile("program|free of charge"))
    body.press("End")
    body.type("\n\nThanks for asking before buying a new one, Graham.")
    page.get_by_role("button", name="Send and mark solved").click()
    expect(page.get_by_role("status")).to_contain_text("solved")
    expect(page.locator(".entry-outbound").last).to_contain_text("Thanks for asking")
    expect(page.locator(".case-head .status")).to_have_text("solved")

    with live.container.uow.read_only() as uow:
        case = uow.cases.get(case_id)
        granted = uow.grants.for_case(case_id)
    assert case is not None and case.status is CaseStatus.SOLVED
    assert [g.status for g in granted] == [GrantStatus.EXECUTED]


@pytest.mark.parametrize(
    ("subject_start", "remedies"),
    [
        ("Our agreed delivery date", ["expedite", "refund-partial", "store-credit"]),
        ("Two t-shirts arrived", ["keep-item", "refund-full", "shipping-credit"]),
        ("Will the baby monitor", ["gift", "handwritten-note"]),
    ],
)
def test_the_other_seed_stories_are_granted_in_one_click(
    live: LiveServer, sign_in: SignIn, subject_start: str, remedies: list[str]
) -> None:
    case_id = story_case(live, subject_start)
    page = sign_in(AGENT)
    page.goto(live.url(f"/cases/{case_id}"))
    top = page.locator("li.top-offer")
    top.get_by_role("button", name="Grant").click()
    expect(page.get_by_role("status")).to_contain_text("Granted")
    for remedy in remedies:
        expect(page.locator(f'.entry-grant [title="{remedy}"]').first).to_be_visible()
    with live.container.uow.read_only() as uow:
        granted = uow.grants.for_case(case_id)
    assert [g.status for g in granted] == [GrantStatus.EXECUTED]
    assert sorted(granted[0].remedy_ids) == remedies


def test_over_authority_offer_is_approved_by_a_lead(live: LiveServer, sign_in: SignIn) -> None:
    case_id = story_case(live, "Espresso machine")
    agent = sign_in(AGENT)
    agent.goto(live.url(f"/cases/{case_id}"))
    ask = agent.locator("li.top-offer").get_by_role("button", name=re.compile("Ask a lead"))
    ask.click()
    expect(agent.get_by_role("status")).to_contain_text("Sent for approval")
    expect(agent.locator(".entry-grant")).to_contain_text("pending approval")

    lead = sign_in(LEAD)
    lead.goto(live.url("/approvals"))
    request = lead.locator("li.approval").filter(has_text=f"#{case_id}")
    expect(request).to_contain_text("Espresso machine")
    screenshot(lead, "approvals")
    request.get_by_role("button", name="Approve and grant").click()
    expect(lead.get_by_role("status")).to_contain_text("Approved")

    agent.reload()
    expect(agent.locator(".entry-grant")).to_contain_text("executed")
    with live.container.uow.read_only() as uow:
        statuses = [g.status for g in uow.grants.for_case(case_id)]
    assert GrantStatus.EXECUTED in statuses


def test_a_draft_survives_a_reload(live: LiveServer, sign_in: SignIn) -> None:
    case_id = story_case(live, "Our agreed delivery date")
    page = sign_in(AGENT)
    page.goto(live.url(f"/cases/{case_id}"))
    page.get_by_label("Message", exact=True).fill("Half-written answer about the missed date")
    expect(page.locator("[data-draft-state]")).to_contain_text("Draft saved")
    page.reload()
    expect(page.get_by_label("Message", exact=True)).to_have_value(
        "Half-written answer about the missed date"
    )
    expect(page.locator("[data-draft-state]")).to_contain_text("Draft restored")


def test_live_update_shows_a_new_case_without_reload(live: LiveServer, sign_in: SignIn) -> None:
    page = sign_in(AGENT)
    # The live stream is held until the case exists, so the page's first live event already
    # carries the new case: the list must still refresh (it compares with the stamp it was
    # rendered at, not with a previous event it never had).
    held: list[Route] = []
    page.route("**/events", lambda route: held.append(route))
    page.goto(live.url("/queue?view=unassigned"))
    before = page.locator('[data-count="unassigned"]').first.inner_text()
    page.evaluate("window.__sameDocument = true")
    for _ in range(200):  # the stream opens once the page's script has run
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the queue page opens its live stream"
    with live.container.uow.read_only() as uow:
        customer_id = uow.customers.email_owner("graham.whitlock@example.com")
    assert customer_id is not None
    cases.create_case(
        live.container.uow(),
        SYSTEM,
        live.container.clock.now(),
        customer_id=customer_id,
        subject="Live update: a brand-new case",
        body="It arrived while the queue was open.",
        channel=Channel.EMAIL,
    )
    held[0].continue_()
    page.unroute("**/events")
    expect(page.locator("#queue-list")).to_contain_text(
        "Live update: a brand-new case", timeout=20_000
    )
    expect(page.locator('[data-count="unassigned"]').first).not_to_have_text(before)
    assert page.evaluate("window.__sameDocument") is True


def test_a_viewer_cannot_grant(live: LiveServer, sign_in: SignIn) -> None:
    # A case of its own: another test may have granted the story's offers already, and a
    # granted offer is not offered again on the same case.
    case_id = fresh_story_case(live, "Will the baby monitor")
    with live.container.uow.read_only() as uow:
        before = uow.grants.for_case(case_id)
    page = sign_in(VIEWER)
    page.goto(live.url(f"/cases/{case_id}"))
    offers = page.locator("section.offers")
    expect(offers.locator("li.offer").first).to_be_visible()
    expect(offers.get_by_role("button", name="Grant")).to_have_count(0)
    expect(offers).to_contain_text("can read offers but not grant them")
    # Forging the form does not help: the server refuses with a readable page.
    status = page.evaluate(
        """async ([caseId]) => {
            const csrf = document.querySelector('input[name=csrf_token]').value;
            const body = new URLSearchParams({csrf_token: csrf, remedies: 'gesture-note',
                                              idempotency_key: 'forged-by-a-viewer'});
            const r = await fetch(`/cases/${caseId}/grant`, {method: 'POST', body});
            return [r.status, await r.text()];
        }""",
        [case_id],
    )
    assert status[0] == 403
    assert re.search(r'role="alert"[^>]*data-code="forbidden"', status[1]), status[1]
    with live.container.uow.read_only() as uow:
        assert uow.grants.for_case(case_id) == before


def test_help_overlay_and_keyboard(live: LiveServer, sign_in: SignIn) -> None:
    case_id = story_case(live, "Two t-shirts")
    page = sign_in(AGENT)
    page.goto(live.url(f"/cases/{case_id}"))
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    screenshot(page, "shortcuts")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.keyboard.press("p")
    expect(page.get_by_label("Internal note")).to_be_checked()
    expect(page.get_by_label("Message", exact=True)).to_be_focused()


def test_an_old_dashboard_bookmark_opens_the_reports_with_its_charts(
    live: LiveServer, sign_in: SignIn
) -> None:
    page = sign_in(LEAD)
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    # The manager's dashboard of old is the same page, over the days its address asked for.
    today = live.container.clock.now().date()
    page.goto(live.url("/dashboard?days=90"))
    start = (today - timedelta(days=89)).isoformat()
    expect(page).to_have_url(re.compile(rf"/reports\?start={start}&end={today.isoformat()}$"))
    # Over the demo's 90 days of history every chart has data, satisfaction and SLA too.
    expect(page.locator(".charts figure svg").first).to_be_visible()
    expect(page.locator("figure", has_text="Satisfaction (average score")).to_be_visible()
    expect(page.locator("figure", has_text="Resolution targets met")).to_be_visible()


def test_admin_sees_policy_errors_in_place(live: LiveServer, sign_in: SignIn) -> None:
    page = sign_in(ADMIN)
    page.goto(live.url("/admin/policy"))
    page.get_by_label("or edit it here").fill("version: broken\nremedies: [\n")
    page.get_by_role("button", name="Validate and put in force").click()
    expect(page.locator("#policy-problems")).to_contain_text("not loaded")
    expect(page.locator("ol.source li.bad").first).to_be_visible()
    screenshot(page, "admin-policy")


def test_admin_writes_an_article_with_a_live_preview(live: LiveServer, sign_in: SignIn) -> None:
    page = sign_in(ADMIN)
    page.goto(live.url("/admin/knowledge"))
    page.get_by_label("Title").fill("Gift wrapping")
    page.get_by_label("Body (Markdown)").fill("We **wrap** gifts <script>alert(1)</script>")
    expect(page.locator("#kb-preview strong")).to_have_text("wrap")
    assert page.locator("#kb-preview script").count() == 0
    screenshot(page, "admin-knowledge")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.locator("table.compact")).to_contain_text("Gift wrapping")


def test_escalate_to_a_lead_with_the_drafted_summary(live: LiveServer, sign_in: SignIn) -> None:
    case_id = story_case(live, "Our agreed delivery date")
    agent = sign_in(AGENT)
    agent.goto(live.url(f"/cases/{case_id}"))
    agent.get_by_text("Escalate with a handoff summary").click()
    summary = agent.get_by_label(re.compile("Summary the receiver reads"))
    expect(summary).to_have_value(re.compile("Our agreed delivery date"))
    agent.get_by_label("To lead").select_option(label="Lena Park")
    agent.get_by_role("button", name="Escalate").click()
    expect(agent.get_by_role("status")).to_contain_text("Escalated")

    lead = sign_in(LEAD)
    lead.goto(live.url("/queue?view=mine"))
    lead.get_by_role("link", name=re.compile("Our agreed delivery date")).click()
    expect(lead.locator("section.panel-handoff .handoffs")).to_contain_text(
        "Our agreed delivery date"
    )
