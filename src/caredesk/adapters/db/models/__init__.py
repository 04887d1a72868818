"""Every table, by feature: importing the package registers them all on `Base.metadata`."""

# Alembic compares that metadata with the migrations: a table in a module not imported
# here would go unseen by it, and by erasure's sweep over every table.
from caredesk.adapters.db.models.access import (
    AgentRow,
    AgentTeamRow,
    ApiTokenRow,
    AuthThrottleRow,
    ConsoleSessionRow,
    TeamRow,
)
from caredesk.adapters.db.models.base import NAMING, Base, BigId, Money
from caredesk.adapters.db.models.cases import CaseFactsRow, CaseRow, CaseTagRow, MessageRow
from caredesk.adapters.db.models.core import (
    AuditEventRow,
    BlobRow,
    ConfigStampRow,
    IdempotencyKeyRow,
)
from caredesk.adapters.db.models.customers import (
    CUSTOMER_NUMBERS,
    CustomerEmailRow,
    CustomerRow,
    OrderLineRow,
    OrderRow,
    PaymentMethodRow,
    PaymentTransactionRow,
    ProductRow,
    ShipmentRow,
    VariantRow,
)
from caredesk.adapters.db.models.engine import (
    ApprovalRow,
    GrantRow,
    LedgerEntryRow,
    PolicyChangeRow,
    PolicyVersionRow,
)
from caredesk.adapters.db.models.jobs import (
    JobRow,
    JobTimerRow,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)
from caredesk.adapters.db.models.knowledge import (
    ArticleRow,
    ArticleVersionRow,
    CaseTriageRow,
    IntentLabelRow,
    IntentModelRow,
    KnownIssueRow,
    RoutingRuleRow,
    SearchEntryRow,
)
from caredesk.adapters.db.models.lifecycle import (
    CaseHandoffRow,
    CaseLinkRow,
    CommitmentRow,
    ProactiveFindingRow,
    RepeatAskRow,
)
from caredesk.adapters.db.models.mail import (
    MailFailureRow,
    MailMessageRow,
    MailTemplateRow,
    OutboxMailRow,
)
from caredesk.adapters.db.models.portal import (
    PortalSessionRow,
    PortalSignInRow,
    SatisfactionSurveyRow,
)
from caredesk.adapters.db.models.sla import BusinessCalendarRow, SlaClockRow, SlaPolicyRow
from caredesk.adapters.db.models.zendesk import (
    TicketFieldRow,
    ZendeskImportCheckpointRow,
    ZendeskImportIdRow,
    ZendeskUploadRow,
    ZendeskUserRow,
)

__all__ = [
    "CUSTOMER_NUMBERS",
    "NAMING",
    "AgentRow",
    "AgentTeamRow",
    "ApiTokenRow",
    "ApprovalRow",
    "ArticleRow",
    "ArticleVersionRow",
    "AuditEventRow",
    "AuthThrottleRow",
    "Base",
    "BigId",
    "BlobRow",
    "BusinessCalendarRow",
    "CaseFactsRow",
    "CaseHandoffRow",
    "CaseLinkRow",
    "CaseRow",
    "CaseTagRow",
    "CaseTriageRow",
    "CommitmentRow",
    "ConfigStampRow",
    "ConsoleSessionRow",
    "CustomerEmailRow",
    "CustomerRow",
    "GrantRow",
    "IdempotencyKeyRow",
    "IntentLabelRow",
    "IntentModelRow",
    "JobRow",
    "JobTimerRow",
    "KnownIssueRow",
    "LedgerEntryRow",
    "MailFailureRow",
    "MailMessageRow",
    "MailTemplateRow",
    "MessageRow",
    "Money",
    "OrderLineRow",
    "OrderRow",
    "OutboxMailRow",
    "PaymentMethodRow",
    "PaymentTransactionRow",
    "PolicyChangeRow",
    "PolicyVersionRow",
    "PortalSessionRow",
    "PortalSignInRow",
    "ProactiveFindingRow",
    "ProductRow",
    "RepeatAskRow",
    "RoutingRuleRow",
    "SatisfactionSurveyRow",
    "SearchEntryRow",
    "ShipmentRow",
    "SlaClockRow",
    "SlaPolicyRow",
    "TeamRow",
    "TicketFieldRow",
    "VariantRow",
    "WebhookDeliveryRow",
    "WebhookSubscriptionRow",
    "ZendeskImportCheckpointRow",
    "ZendeskImportIdRow",
    "ZendeskUploadRow",
    "ZendeskUserRow",
]
