"""The customer portal: magic-link sign-in, the customer's own cases, self-service and
satisfaction surveys.

A customer acts through an `Actor` bound to their customer id (`portal_actor`), so every
write goes through the same services as an agent's: cases through `services/cases/cases.py`,
remedies through `services/engine/grants/` and the policy in force, and every change is audited
under `customer:<id>`. A customer only ever reaches their own records: anything else is
"not found", never "forbidden", so ids cannot be probed.

Each part has its module: signing in (`sign_in`), the customer's cases and orders
(`customer_cases`), self-service remedies (`self_service`), surveys (`surveys`), the mail they
send (`customer_mail`). This package names them all.
"""

from __future__ import annotations

from caredesk.services.channels.portal.customer_cases import (
    OwnCase,
    my_attachment,
    my_case,
    my_cases,
    my_orders,
    open_case,
    reply,
)
from caredesk.services.channels.portal.customer_mail import (
    CustomerMail,
    CustomerMailer,
    MemoryOutbox,
)
from caredesk.services.channels.portal.self_service import (
    CANCEL_REASONS,
    KEEP_REASONS,
    PORTAL_KINDS,
    OrderSelfService,
    SelfServiceOption,
    SelfServiceOutcome,
    order_self_service,
    request_remedy,
    self_service_choices,
)
from caredesk.services.channels.portal.sign_in import (
    RATE_WINDOW,
    IssuedPortalSession,
    SignInLimits,
    client_key,
    issue_link,
    portal_actor,
    redeem_link,
    request_sign_in,
    session_customer,
    sign_out,
)
from caredesk.services.channels.portal.surveys import (
    SCORE_LABELS,
    SatisfactionReport,
    SurveyView,
    answer_survey,
    case_survey,
    open_survey,
    satisfaction_report,
    send_due_surveys,
    send_survey,
    survey_links,
)

__all__ = [
    "CANCEL_REASONS",
    "KEEP_REASONS",
    "PORTAL_KINDS",
    "RATE_WINDOW",
    "SCORE_LABELS",
    "CustomerMail",
    "CustomerMailer",
    "IssuedPortalSession",
    "MemoryOutbox",
    "OrderSelfService",
    "OwnCase",
    "SatisfactionReport",
    "SelfServiceOption",
    "SelfServiceOutcome",
    "SignInLimits",
    "SurveyView",
    "answer_survey",
    "case_survey",
    "client_key",
    "issue_link",
    "my_attachment",
    "my_case",
    "my_cases",
    "my_orders",
    "open_case",
    "open_survey",
    "order_self_service",
    "portal_actor",
    "redeem_link",
    "reply",
    "request_remedy",
    "request_sign_in",
    "satisfaction_report",
    "self_service_choices",
    "send_due_surveys",
    "send_survey",
    "session_customer",
    "sign_out",
    "survey_links",
]
