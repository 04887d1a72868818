"""Request and response bodies. Requests forbid unknown fields; money is a decimal string."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from caredesk.domain.agents import Agent, Role, Team
from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import (
    Attachment,
    Case,
    CaseStatus,
    Channel,
    Message,
    MessageKind,
    Priority,
)
from caredesk.domain.catalog import Product, Variant
from caredesk.domain.customers import Address, Customer, PaymentKind, PaymentMethod
from caredesk.domain.erasure import ErasureReport
from caredesk.domain.orders import Fulfilment, Order, OrderLine, PaymentTransaction
from caredesk.domain.rates import RATE_PATTERN
from caredesk.domain.tokens import ApiToken
from caredesk.web.api.sla_schemas import CaseSlaOut

SmallId = Annotated[int, Field(ge=1, le=2**31 - 1)]  # agents and teams
MoneyOut = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=200_000)]
T = TypeVar("T")


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


class Strict(BaseModel):
    """A request body: unknown fields are refused, and so are NaN and infinities anywhere
    (JSON has no such numbers, and the database's JSON columns cannot hold them)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_non_finite_numbers(cls, data: Any) -> Any:
        if not _finite(data):
            raise ValueError("numbers must be finite: NaN and Infinity are not JSON")
        return data


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last."
    )


class AddressIn(Strict):
    address1: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    address2: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=120)
    state: str = Field(default="", max_length=120)
    zip: str = Field(default="", max_length=20)
    country: str = Field(default="", max_length=80)

    def to_domain(self) -> Address:
        return Address(**self.model_dump())


class AddressOut(BaseModel):
    address1: str
    address2: str
    city: str
    state: str
    zip: str
    country: str

    @classmethod
    def of(cls, a: Address) -> AddressOut:
        return cls(
            address1=a.address1,
            address2=a.address2,
            city=a.city,
            state=a.state,
            zip=a.zip,
            country=a.country,
        )


class PaymentMethodIn(Strict):
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    kind: PaymentKind
    brand: str | None = Field(default=None, max_length=40)
    last_four: str | None = Field(default=None, pattern=r"^\d{4}$")
    balance: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)

    def to_domain(self) -> PaymentMethod:
        return PaymentMethod(**self.model_dump())


class PaymentMethodOut(BaseModel):
    id: str
    kind: PaymentKind
    brand: str | None
    last_four: str | None
    balance: MoneyOut | None

    @classmethod
    def of(cls, pm: PaymentMethod) -> PaymentMethodOut:
        return cls(
            id=pm.id, kind=pm.kind, brand=pm.brand, last_four=pm.last_four, balance=pm.balance
        )


class CustomerIn(Strict):
    id: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.\-]{1,64}$", description="Your own id, if any."
    )
    first_name: Name
    last_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    emails: list[EmailStr] = Field(min_length=1, max_length=20)
    phones: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        default_factory=list, max_length=20
    )
    addresses: list[AddressIn] = Field(default_factory=list, max_length=20)
    tier: Annotated[str, StringConstraints(min_length=1, max_length=40)] = "standard"
    membership: str | None = Field(default=None, max_length=40)
    payment_methods: list[PaymentMethodIn] = Field(default_factory=list, max_length=50)


class CustomerPatch(Strict):
    version: int | None = Field(default=None, description="The version you read (or If-Match).")
    first_name: Name | None = None
    last_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = (
        None
    )
    emails: list[EmailStr] | None = Field(default=None, min_length=1, max_length=20)
    phones: list[Annotated[str, StringConstraints(max_length=40)]] | None = None
    addresses: list[AddressIn] | None = None
    tier: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    membership: str | None = None


class CustomerOut(BaseModel):
    id: str
    first_name: str
    last_name: str
    name: str
    emails: list[str]
    phones: list[str]
    addresses: list[AddressOut]
    tier: str
    membership: str | None
    payment_methods: list[PaymentMethodOut]
    created_at: datetime | None
    updated_at: datetime | None
    version: int

    @classmethod
    def of(cls, c: Customer) -> CustomerOut:
        return cls(
            id=c.id,
            first_name=c.first_name,
            last_name=c.last_name,
            name=c.name,
            emails=c.emails,
            phones=c.phones,
            addresses=[AddressOut.of(a) for a in c.addresses],
            tier=c.tier,
            membership=c.membership,
            payment_methods=[PaymentMethodOut.of(pm) for pm in c.payment_methods],
            created_at=c.created_at,
            updated_at=c.updated_at,
            version=c.version,
        )


class ErasureOut(BaseModel):
    """What an erasure replaced, per kind of record (empty when it was erased before)."""

    customer_id: str
    erased_at: datetime
    already_erased: bool
    counts: dict[str, int]

    @classmethod
    def of(cls, report: ErasureReport) -> ErasureOut:
        return cls(
            customer_id=report.customer_id,
            erased_at=report.erased_at,
            already_erased=report.already_erased,
            counts=report.counts,
        )


class VariantOut(BaseModel):
    id: str
    product_id: str
    options: dict[str, str]
    price: MoneyOut
    available: bool

    @classmethod
    def of(cls, v: Variant) -> VariantOut:
        return cls(
            id=v.id,
            product_id=v.product_id,
            options=v.options,
            price=v.price,
            available=v.available,
        )


class ProductOut(BaseModel):
    id: str
    name: str
    description: str
    variants: list[VariantOut]

    @classmethod
    def of(cls, p: Product) -> ProductOut:
        return cls(
            id=p.id,
            name=p.name,
            description=p.description,
            variants=[VariantOut.of(v) for v in p.variants],
        )


class OrderLineOut(BaseModel):
    variant_id: str
    product_id: str
    name: str
    price: MoneyOut
    options: dict[str, str]

    @classmethod
    def of(cls, line: OrderLine) -> OrderLineOut:
        return cls(
            variant_id=line.variant_id,
            product_id=line.product_id,
            name=line.name,
            price=line.price,
            options=line.options,
        )


class FulfilmentOut(BaseModel):
    tracking_ids: list[str]
    variant_ids: list[str]
    carrier: str | None
    shipped_at: datetime | None
    promised_date: date | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, f: Fulfilment) -> FulfilmentOut:
        return cls(
            tracking_ids=f.tracking_ids,
            variant_ids=f.variant_ids,
            carrier=f.carrier,
            shipped_at=f.shipped_at,
            promised_date=f.promised_date,
            delivered_at=f.delivered_at,
        )


class PaymentOut(BaseModel):
    transaction_type: str
    amount: MoneyOut
    payment_method_id: str
    created_at: datetime | None

    @classmethod
    def of(cls, p: PaymentTransaction) -> PaymentOut:
        return cls(
            transaction_type=p.transaction_type.value,
            amount=p.amount,
            payment_method_id=p.payment_method_id,
            created_at=p.created_at,
        )


class OrderOut(BaseModel):
    id: str
    customer_id: str
    status: str
    address: AddressOut
    lines: list[OrderLineOut]
    fulfilments: list[FulfilmentOut]
    payments: list[PaymentOut]
    total: MoneyOut
    placed_at: datetime | None
    promised_date: date | None

    @classmethod
    def of(cls, o: Order) -> OrderOut:
        return cls(
            id=o.id,
            customer_id=o.customer_id,
            status=o.status.value,
            address=AddressOut.of(o.address),
            lines=[OrderLineOut.of(line) for line in o.lines],
            fulfilments=[FulfilmentOut.of(f) for f in o.fulfilments],
            payments=[PaymentOut.of(p) for p in o.payments],
            total=o.total,
            placed_at=o.placed_at,
            promised_date=o.promised_date,
        )


CustomFields = dict[
    Annotated[str, StringConstraints(min_length=1, max_length=64)],
    str | int | float | bool | None,
]


class AttachmentIn(Strict):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    content_type: str = Field(default="application/octet-stream", max_length=120)
    content_base64: str = Field(description="The file's bytes, base64-encoded.")


class AttachmentOut(BaseModel):
    sha256: str
    filename: str
    content_type: str
    size: int
    url: str

    @classmethod
    def of(cls, a: Attachment) -> AttachmentOut:
        return cls(
            sha256=a.sha256,
            filename=a.filename,
            content_type=a.content_type,
            size=a.size,
            url=f"/api/v1/attachments/{a.sha256}",
        )


class CaseIn(Strict):
    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    body: Text | None = Field(default=None, description="The customer's first message.")
    channel: Channel = Channel.API
    priority: Priority = Priority.NORMAL
    assignee_id: SmallId | None = None
    team_id: SmallId | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    order_ids: list[str] = Field(default_factory=list, max_length=50)
    custom_fields: CustomFields = Field(default_factory=dict)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class CasePatch(Strict):
    version: int | None = Field(default=None, description="The version you read (or If-Match).")
    subject: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
        | None
    ) = None
    status: CaseStatus | None = None
    priority: Priority | None = None
    assignee_id: SmallId | None = None
    team_id: SmallId | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    order_ids: list[str] | None = Field(default=None, max_length=50)
    custom_fields: CustomFields | None = None


class StatusIn(Strict):
    status: CaseStatus
    version: int | None = None


class AssignmentIn(Strict):
    assignee_id: SmallId | None
    team_id: SmallId | None = None
    version: int | None = None


class MessageIn(Strict):
    kind: MessageKind = MessageKind.OUTBOUND
    body: Text = ""
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class NoteIn(Strict):
    body: Text = ""
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class MessageOut(BaseModel):
    id: int
    case_id: int
    kind: MessageKind
    body: str
    created_at: datetime
    author_agent_id: int | None
    author_customer_id: str | None
    attachments: list[AttachmentOut]

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        assert m.id is not None
        return cls(
            id=m.id,
            case_id=m.case_id,
            kind=m.kind,
            body=m.body,
            created_at=m.created_at,
            author_agent_id=m.author_agent_id,
            author_customer_id=m.author_customer_id,
            attachments=[AttachmentOut.of(a) for a in m.attachments],
        )


class CaseOut(BaseModel):
    id: int
    subject: str
    customer_id: str
    status: CaseStatus
    priority: Priority
    channel: Channel
    assignee_id: int | None
    team_id: int | None
    tags: list[str]
    order_ids: list[str]
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    closed_at: datetime | None
    service_level: int | None = Field(
        default=None, description="1 deflected, 2 saved the sale, 3 invested in the customer."
    )
    version: int
    sla: CaseSlaOut | None = Field(
        default=None, description="The SLA policy and clocks (on a single case's page)."
    )

    @classmethod
    def of(cls, c: Case) -> CaseOut:
        assert c.id is not None
        return cls(
            id=c.id,
            subject=c.subject,
            customer_id=c.customer_id,
            status=c.status,
            priority=c.priority,
            channel=c.channel,
            assignee_id=c.assignee_id,
            team_id=c.team_id,
            tags=c.tags,
            order_ids=c.order_ids,
            custom_fields=c.custom_fields,
            created_at=c.created_at,
            updated_at=c.updated_at,
            solved_at=c.solved_at,
            closed_at=c.closed_at,
            service_level=c.service_level,
            version=c.version,
        )


class CaseDetailOut(CaseOut):
    messages: list[MessageOut]


class AuditEventOut(BaseModel):
    id: int | None
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    case_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @classmethod
    def of(cls, e: AuditEvent) -> AuditEventOut:
        return cls(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            entity_type=e.entity_type,
            entity_id=e.entity_id,
            case_id=e.case_id,
            before=e.before,
            after=e.after,
        )


class TeamIn(Strict):
    name: Name


class TeamOut(BaseModel):
    id: int
    name: str

    @classmethod
    def of(cls, t: Team) -> TeamOut:
        assert t.id is not None
        return cls(id=t.id, name=t.name)


class AgentIn(Strict):
    email: EmailStr
    name: Name
    role: Role
    password: str | None = Field(default=None, min_length=10, max_length=200)
    teams: list[str] = Field(default_factory=list)


class AgentOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    active: bool
    team_ids: list[int]
    time_zone: str | None = Field(description="IANA name; null reads times in the desk's zone.")

    @classmethod
    def of(cls, a: Agent) -> AgentOut:
        assert a.id is not None
        return cls(
            id=a.id,
            email=a.email,
            name=a.name,
            role=a.role,
            active=a.active,
            team_ids=a.team_ids,
            time_zone=a.time_zone,
        )


class AgentChangeIn(Strict):
    time_zone: str | None = Field(
        max_length=64, description="IANA name such as 'Europe/Berlin'; null for the desk's zone."
    )


class TokenIn(Strict):
    name: Name
    role: Role
    agent_id: SmallId | None = None
    expires_at: datetime | None = None
    customer_id: str | None = Field(
        default=None, description="Act only for this (verified) customer."
    )
    tools: list[str] | None = Field(
        default=None, description="The tools this token may use; all when omitted."
    )
    rate_limit: str | None = Field(
        default=None,
        pattern=RATE_PATTERN,
        description="Requests this token may make, e.g. '60/minute' (else the desk's default).",
    )


class TokenOut(BaseModel):
    id: int
    name: str
    role: Role
    prefix: str
    agent_id: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    customer_id: str | None = None
    tools: list[str] | None = None
    rate_limit: str | None = None

    @classmethod
    def of(cls, t: ApiToken) -> TokenOut:
        assert t.id is not None
        return cls(
            id=t.id,
            name=t.name,
            role=t.role,
            prefix=t.prefix,
            agent_id=t.agent_id,
            created_at=t.created_at,
            expires_at=t.expires_at,
            revoked_at=t.revoked_at,
            last_used_at=t.last_used_at,
            customer_id=t.customer_id,
            tools=t.tools,
            rate_limit=str(t.rate_limit) if t.rate_limit else None,
        )


class IssuedTokenOut(TokenOut):
    token: str = Field(description="The secret. Shown once; only its hash is stored.")


class LoginIn(Strict):
    email: Annotated[str, StringConstraints(min_length=3, max_length=320)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SessionOut(BaseModel):
    agent: AgentOut
    csrf_token: str
    expires_at: datetime


class MeOut(BaseModel):
    role: Role
    agent: AgentOut | None
    token_id: int | None
