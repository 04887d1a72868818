"""SQLAlchemy repositories: each speaks domain objects and hides the rows."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.attributes import flag_modified

from caredesk.adapters.db import mapping
from caredesk.adapters.db import models as m
from caredesk.adapters.db.cursors import cursor_int, cursor_time, decode_cursor, encode_cursor
from caredesk.adapters.db.search import case_text_condition
from caredesk.domain.agents import Agent, Team
from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import Case, Message
from caredesk.domain.catalog import Product, Variant
from caredesk.domain.customers import Customer
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.orders import Order, OrderStatus
from caredesk.domain.policy.value import OrderHistory
from caredesk.domain.tokens import ApiToken, Session
from caredesk.services.core.ports import (
    CaseFilter,
    IdempotencyRecord,
    Page,
    StoredResponse,
)

_ITERATE_CHUNK = 500


def version_conflict(entity: str, entity_id: object, expected: int, actual: int) -> DomainError:
    return DomainError(
        f"{entity} {entity_id} was changed by someone else (version {actual}, you had {expected})",
        code=ErrorCode.VERSION_CONFLICT,
        details={"entity": entity, "id": str(entity_id), "current_version": actual},
    )


def _next_seq(session: OrmSession, column: InstrumentedAttribute[int]) -> int:
    return int(session.scalar(select(func.coalesce(func.max(column), 0))) or 0) + 1


def _next_customer_number(session: OrmSession) -> int:
    if session.get_bind().dialect.name == "postgresql":
        # Two customers created at once (an API call, mail from a new sender) would both read
        # the same highest number; a sequence hands each its own, and never rolls back.
        return int(session.execute(m.CUSTOMER_NUMBERS.next_value().select()).scalar_one())
    # SQLite: a writing transaction holds the one write lock from BEGIN IMMEDIATE on.
    return _next_seq(session, m.CustomerRow.seq)


class SqlCustomerRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def add(self, customer: Customer) -> None:
        assert customer.created_at is not None
        row = m.CustomerRow(
            id=customer.id,
            seq=_next_customer_number(self.session),
            created_at=customer.created_at,
            emails=[],
            payment_methods=[],
        )
        mapping.customer_onto_row(customer, row)
        self.session.add(row)
        self.session.flush()
        customer.version = row.version

    def _row(self, customer_id: str) -> m.CustomerRow | None:
        return self.session.get(m.CustomerRow, customer_id)

    def get(self, customer_id: str) -> Customer | None:
        row = self._row(customer_id)
        return mapping.customer_from_row(row) if row else None

    def save(self, customer: Customer) -> None:
        row = self._row(customer.id)
        assert row is not None
        if row.version != customer.version:
            raise version_conflict("customer", customer.id, customer.version, row.version)
        mapping.customer_onto_row(customer, row)
        # A balance or an email lives in a child row; the customer's version must move too.
        flag_modified(row, "phones")
        self.session.flush()
        customer.version = row.version

    def delete(self, customer_id: str) -> None:
        row = self._row(customer_id)
        if row is not None:
            self.session.delete(row)
            self.session.flush()

    def email_owner(self, email: str) -> str | None:
        return self.session.scalar(
            select(m.CustomerEmailRow.customer_id).where(m.CustomerEmailRow.email == email)
        )

    def has_history(self, customer_id: str) -> bool:
        return bool(
            self.session.scalar(
                select(
                    or_(
                        exists().where(m.OrderRow.customer_id == customer_id),
                        exists().where(m.CaseRow.customer_id == customer_id),
                    )
                )
            )
        )

    def search(self, query: str | None, limit: int, cursor: str | None) -> Page[Customer]:
        stmt = select(m.CustomerRow).order_by(m.CustomerRow.seq)
        if query:
            needle = query.strip().lower()
            like = f"%{_escape_like(needle)}%"
            email_match = select(m.CustomerEmailRow.customer_id).where(
                func.lower(m.CustomerEmailRow.email).like(like, escape="\\")
            )
            stmt = stmt.where(
                or_(
                    m.CustomerRow.name_key.like(like, escape="\\"),
                    m.CustomerRow.id.in_(email_match),
                    m.CustomerRow.id == query.strip(),
                )
            )
        if cursor:
            (after,) = decode_cursor(cursor, 1)
            stmt = stmt.where(m.CustomerRow.seq > cursor_int(after))
        rows = list(self.session.scalars(stmt.limit(limit + 1)))
        next_cursor = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
        return Page([mapping.customer_from_row(r) for r in rows[:limit]], next_cursor)

    def iterate(self) -> Iterator[Customer]:
        last = 0
        while True:
            rows = list(
                self.session.scalars(
                    select(m.CustomerRow)
                    .where(m.CustomerRow.seq > last)
                    .order_by(m.CustomerRow.seq)
                    .limit(_ITERATE_CHUNK)
                )
            )
            if not rows:
                return
            yield from (mapping.customer_from_row(r) for r in rows)
            last = rows[-1].seq


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlProductRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def add(self, product: Product) -> None:
        row = m.ProductRow(
            id=product.id, seq=_next_seq(self.session, m.ProductRow.seq), variants=[]
        )
        mapping.product_onto_row(product, row)
        self.session.add(row)
        self.session.flush()

    def get(self, product_id: str) -> Product | None:
        row = self.session.get(m.ProductRow, product_id)
        return mapping.product_from_row(row) if row else None

    def save(self, product: Product) -> None:
        row = self.session.get(m.ProductRow, product.id)
        assert row is not None
        mapping.product_onto_row(product, row)
        self.session.flush()

    def get_variant(self, variant_id: str) -> Variant | None:
        row = self.session.get(m.VariantRow, variant_id)
        return mapping.variant_from_row(row) if row else None

    def variants(self, product_ids: set[str], variant_ids: set[str]) -> list[Variant]:
        if not product_ids and not variant_ids:
            return []
        rows = self.session.scalars(
            select(m.VariantRow).where(
                or_(m.VariantRow.product_id.in_(product_ids), m.VariantRow.id.in_(variant_ids))
            )
        )
        return [mapping.variant_from_row(r) for r in rows]

    def find(self, limit: int, cursor: str | None) -> Page[Product]:
        stmt = select(m.ProductRow).order_by(m.ProductRow.seq)
        if cursor:
            (after,) = decode_cursor(cursor, 1)
            stmt = stmt.where(m.ProductRow.seq > cursor_int(after))
        rows = list(self.session.scalars(stmt.limit(limit + 1)))
        next_cursor = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
        return Page([mapping.product_from_row(r) for r in rows[:limit]], next_cursor)

    def iterate(self) -> Iterator[Product]:
        for row in self.session.scalars(select(m.ProductRow).order_by(m.ProductRow.seq)):
            yield mapping.product_from_row(row)


class SqlOrderRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def add(self, order: Order) -> None:
        row = m.OrderRow(
            id=order.id,
            seq=_next_seq(self.session, m.OrderRow.seq),
            lines=[],
            fulfilments=[],
            payments=[],
        )
        mapping.order_onto_row(order, row)
        self.session.add(row)
        self.session.flush()
        order.version = row.version

    def get(self, order_id: str) -> Order | None:
        row = self.session.get(m.OrderRow, order_id)
        return mapping.order_from_row(row) if row else None

    def save(self, order: Order) -> None:
        row = self.session.get(m.OrderRow, order.id)
        assert row is not None
        if row.version != order.version:
            raise version_conflict("order", order.id, order.version, row.version)
        mapping.order_onto_row(order, row)
        # Child rows alone would not touch the order row; every save must bump its version.
        flag_modified(row, "details")
        self.session.flush()
        order.version = row.version

    def for_customer(self, customer_id: str) -> list[Order]:
        rows = self.session.scalars(
            select(m.OrderRow).where(m.OrderRow.customer_id == customer_id).order_by(m.OrderRow.seq)
        )
        return [mapping.order_from_row(r) for r in rows]

    def history(self, customer_id: str) -> OrderHistory:
        # One pass over the customer's orders and lines: the planner asks this on every plan.
        orders, first, spend = self.session.execute(
            select(
                func.count(func.distinct(m.OrderRow.id)),
                func.min(m.OrderRow.placed_at),
                func.coalesce(func.sum(m.OrderLineRow.price), 0),
            )
            .select_from(m.OrderRow)
            .outerjoin(m.OrderLineRow, m.OrderLineRow.order_id == m.OrderRow.id)
            .where(
                m.OrderRow.customer_id == customer_id,
                m.OrderRow.status != OrderStatus.CANCELLED.value,
            )
        ).one()
        if isinstance(first, str):  # SQLite hands back aggregates of dates as text
            first = datetime.fromisoformat(first)
        if first is not None and first.tzinfo is None:
            first = first.replace(tzinfo=UTC)
        return OrderHistory(int(orders), Decimal(spend or 0).quantize(Decimal("0.01")), first)

    def latest_id(self, customer_id: str) -> str | None:
        return self.session.scalar(
            select(m.OrderRow.id)
            .where(m.OrderRow.customer_id == customer_id)
            .order_by(m.OrderRow.seq.desc())
            .limit(1)
        )

    def iterate(self) -> Iterator[Order]:
        last = 0
        while True:
            rows = list(
                self.session.scalars(
                    select(m.OrderRow)
                    .where(m.OrderRow.seq > last)
                    .order_by(m.OrderRow.seq)
                    .limit(_ITERATE_CHUNK)
                )
            )
            if not rows:
                return
            yield from (mapping.order_from_row(r) for r in rows)
            last = rows[-1].seq


class SqlCaseRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session
        # The cases written in this unit of work, whose events it hands to the handlers.
        self.seen: list[Case] = []

    def _seen(self, case: Case) -> None:
        if not any(known is case for known in self.seen):
            self.seen.append(case)

    def add(self, case: Case) -> None:
        self._seen(case)
        row = m.CaseRow(tags=[])
        mapping.case_onto_row(case, row)
        self.session.add(row)
        self.session.flush()
        case.id = row.id
        case.version = row.version

    def get(self, case_id: int) -> Case | None:
        row = self.session.get(m.CaseRow, case_id)
        return mapping.case_from_row(row) if row else None

    def get_for_change(self, case_id: int) -> Case | None:
        # FOR UPDATE on PostgreSQL; SQLite renders none, its writer holds the whole database.
        row = self.session.get(m.CaseRow, case_id, with_for_update=True)
        return mapping.case_from_row(row) if row else None

    def save(self, case: Case) -> None:
        self._seen(case)
        row = self.session.get(m.CaseRow, case.id)
        assert row is not None
        if row.version != case.version:
            raise version_conflict("case", case.id, case.version, row.version)
        mapping.case_onto_row(case, row)
        self.session.flush()
        case.version = row.version

    def find(self, filters: CaseFilter, limit: int, cursor: str | None) -> Page[Case]:
        stmt = select(m.CaseRow)
        conditions: list[ColumnElement[bool]] = []
        if filters.status:
            conditions.append(m.CaseRow.status.in_([s.value for s in filters.status]))
        if filters.unassigned:
            conditions.append(m.CaseRow.assignee_id.is_(None))
        elif filters.assignee_id is not None:
            conditions.append(m.CaseRow.assignee_id == filters.assignee_id)
        if filters.team_id is not None:
            conditions.append(m.CaseRow.team_id == filters.team_id)
        if filters.customer_id is not None:
            conditions.append(m.CaseRow.customer_id == filters.customer_id)
        if filters.updated_since is not None:
            conditions.append(m.CaseRow.updated_at >= filters.updated_since)
        if filters.tag is not None:
            conditions.append(
                m.CaseRow.id.in_(
                    select(m.CaseTagRow.case_id).where(m.CaseTagRow.tag == filters.tag.lower())
                )
            )
        if filters.text:
            dialect = self.session.get_bind().dialect.name
            conditions.append(case_text_condition(dialect, filters.text))
        if cursor:
            after_updated, after_id = decode_cursor(cursor, 2)
            after_at = cursor_time(after_updated)
            after_key = cursor_int(after_id)
            conditions.append(
                tuple_(m.CaseRow.updated_at, m.CaseRow.id) < tuple_(after_at, after_key)
                if self.session.get_bind().dialect.name != "sqlite"
                else or_(
                    m.CaseRow.updated_at < after_at,
                    and_(m.CaseRow.updated_at == after_at, m.CaseRow.id < after_key),
                )
            )
        stmt = (
            stmt.where(*conditions)
            .order_by(m.CaseRow.updated_at.desc(), m.CaseRow.id.desc())
            .limit(limit + 1)
        )
        rows = list(self.session.scalars(stmt))
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(last.updated_at.isoformat(), last.id)
        return Page([mapping.case_from_row(r) for r in rows[:limit]], next_cursor)

    def add_message(self, message: Message) -> None:
        row = mapping.message_to_row(message)
        self.session.add(row)
        self.session.flush()
        message.id = row.id

    def messages(self, case_id: int) -> list[Message]:
        rows = self.session.scalars(
            select(m.MessageRow).where(m.MessageRow.case_id == case_id).order_by(m.MessageRow.id)
        )
        return [mapping.message_from_row(r) for r in rows]


class SqlBlobStore:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def put(self, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        if self.session.get(m.BlobRow, digest) is None:
            self.session.add(m.BlobRow(sha256=digest, size=len(content), content=content))
            self.session.flush()
        return digest

    def get(self, sha256: str) -> bytes | None:
        row = self.session.get(m.BlobRow, sha256)
        return row.content if row else None


class SqlAgentRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def _team_ids(self, agent_id: int) -> list[int]:
        return list(
            self.session.scalars(
                select(m.AgentTeamRow.team_id)
                .where(m.AgentTeamRow.agent_id == agent_id)
                .order_by(m.AgentTeamRow.team_id)
            )
        )

    def add(self, agent: Agent) -> None:
        row = m.AgentRow(created_at=func.now())
        self._copy(agent, row)
        self.session.add(row)
        self.session.flush()
        agent.id = row.id
        self._set_teams(row.id, agent.team_ids)

    def _copy(self, agent: Agent, row: m.AgentRow) -> None:
        row.email = agent.email
        row.name = agent.name
        row.role = agent.role.value
        row.password_hash = agent.password_hash
        row.active = agent.active
        row.time_zone = agent.time_zone

    def _set_teams(self, agent_id: int, team_ids: list[int]) -> None:
        self.session.execute(delete(m.AgentTeamRow).where(m.AgentTeamRow.agent_id == agent_id))
        self.session.add_all([m.AgentTeamRow(agent_id=agent_id, team_id=t) for t in team_ids])
        self.session.flush()

    def get(self, agent_id: int) -> Agent | None:
        row = self.session.get(m.AgentRow, agent_id)
        return mapping.agent_from_row(row, self._team_ids(row.id)) if row else None

    def get_by_email(self, email: str) -> Agent | None:
        row = self.session.scalar(
            select(m.AgentRow).where(func.lower(m.AgentRow.email) == email.strip().lower())
        )
        return mapping.agent_from_row(row, self._team_ids(row.id)) if row else None

    def save(self, agent: Agent) -> None:
        assert agent.id is not None
        row = self.session.get(m.AgentRow, agent.id)
        assert row is not None
        self._copy(agent, row)
        self._set_teams(agent.id, agent.team_ids)

    def all(self) -> list[Agent]:
        memberships: dict[int, list[int]] = {}
        for agent_id, team_id in self.session.execute(
            select(m.AgentTeamRow.agent_id, m.AgentTeamRow.team_id).order_by(m.AgentTeamRow.team_id)
        ):
            memberships.setdefault(agent_id, []).append(team_id)
        rows = self.session.scalars(select(m.AgentRow).order_by(m.AgentRow.id))
        return [mapping.agent_from_row(r, memberships.get(r.id, [])) for r in rows]


class SqlTeamRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def add(self, team: Team) -> None:
        row = m.TeamRow(name=team.name)
        self.session.add(row)
        self.session.flush()
        team.id = row.id

    def get(self, team_id: int) -> Team | None:
        row = self.session.get(m.TeamRow, team_id)
        return mapping.team_from_row(row) if row else None

    def get_by_name(self, name: str) -> Team | None:
        row = self.session.scalar(select(m.TeamRow).where(m.TeamRow.name == name))
        return mapping.team_from_row(row) if row else None

    def all(self) -> list[Team]:
        return [
            mapping.team_from_row(r)
            for r in self.session.scalars(select(m.TeamRow).order_by(m.TeamRow.name))
        ]


class SqlTokenRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def add(self, token: ApiToken) -> None:
        row = m.ApiTokenRow(
            name=token.name,
            token_hash=token.token_hash,
            prefix=token.prefix,
            role=token.role.value,
            agent_id=token.agent_id,
            created_at=token.created_at,
            expires_at=token.expires_at,
            customer_id=token.customer_id,
            tools=token.tools,
            rate_limit=str(token.rate_limit) if token.rate_limit else None,
        )
        self.session.add(row)
        self.session.flush()
        token.id = row.id

    def get(self, token_id: int) -> ApiToken | None:
        row = self.session.get(m.ApiTokenRow, token_id)
        return mapping.token_from_row(row) if row else None

    def get_by_hash(self, token_hash: str) -> ApiToken | None:
        row = self.session.scalar(
            select(m.ApiTokenRow).where(m.ApiTokenRow.token_hash == token_hash)
        )
        return mapping.token_from_row(row) if row else None

    def save(self, token: ApiToken) -> None:
        self.session.execute(
            update(m.ApiTokenRow)
            .where(m.ApiTokenRow.id == token.id)
            .values(
                name=token.name,
                revoked_at=token.revoked_at,
                expires_at=token.expires_at,
                last_used_at=token.last_used_at,
                # A binding, once made, is never replaced, even by a concurrent save.
                customer_id=func.coalesce(m.ApiTokenRow.customer_id, token.customer_id),
            )
        )

    def all(self) -> list[ApiToken]:
        rows = self.session.scalars(select(m.ApiTokenRow).order_by(m.ApiTokenRow.id))
        return [mapping.token_from_row(r) for r in rows]


class SqlSessionRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def add(self, session: Session) -> None:
        row = m.SessionRow(
            token_hash=session.token_hash,
            agent_id=session.agent_id,
            created_at=session.created_at,
            expires_at=session.expires_at,
        )
        self.session.add(row)
        self.session.flush()
        session.id = row.id

    def get_by_hash(self, token_hash: str) -> Session | None:
        row = self.session.scalar(select(m.SessionRow).where(m.SessionRow.token_hash == token_hash))
        return mapping.session_from_row(row) if row else None

    def save(self, session: Session) -> None:
        self.session.execute(
            update(m.SessionRow)
            .where(m.SessionRow.id == session.id)
            .values(expires_at=session.expires_at, revoked_at=session.revoked_at)
        )


class SqlAuditLog:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def append(self, event: AuditEvent) -> None:
        self.session.add(
            m.AuditEventRow(
                at=event.at,
                actor=event.actor,
                action=event.action,
                entity_type=event.entity_type,
                entity_id=event.entity_id,
                case_id=event.case_id,
                before=event.before,
                after=event.after,
            )
        )

    def for_case(self, case_id: int) -> list[AuditEvent]:
        rows = self.session.scalars(
            select(m.AuditEventRow)
            .where(m.AuditEventRow.case_id == case_id)
            .order_by(m.AuditEventRow.id)
        )
        return [mapping.audit_from_row(r) for r in rows]

    def for_entity(self, entity_type: str, entity_id: str) -> list[AuditEvent]:
        rows = self.session.scalars(
            select(m.AuditEventRow)
            .where(
                m.AuditEventRow.entity_type == entity_type,
                m.AuditEventRow.entity_id == entity_id,
            )
            .order_by(m.AuditEventRow.id)
        )
        return [mapping.audit_from_row(r) for r in rows]


class SqlIdempotencyStore:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def _row(self, principal: str, key: str) -> m.IdempotencyKeyRow | None:
        return self.session.scalar(
            select(m.IdempotencyKeyRow).where(
                m.IdempotencyKeyRow.principal == principal, m.IdempotencyKeyRow.key == key
            )
        )

    def reserve(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        existing = self._row(record.principal, record.key)
        if existing is None:
            try:
                with self.session.begin_nested():
                    self.session.add(
                        m.IdempotencyKeyRow(
                            principal=record.principal,
                            key=record.key,
                            fingerprint=record.fingerprint,
                            created_at=record.created_at,
                        )
                    )
                return None
            except IntegrityError:
                existing = self._row(record.principal, record.key)
                assert existing is not None
        response = None
        if existing.response_status is not None:
            response = StoredResponse(
                status_code=existing.response_status,
                body=existing.response_body or b"",
                headers=dict(existing.response_headers or {}),
            )
        return IdempotencyRecord(
            principal=existing.principal,
            key=existing.key,
            fingerprint=existing.fingerprint,
            created_at=existing.created_at,
            response=response,
        )

    def complete(self, principal: str, key: str, response: StoredResponse) -> None:
        self.session.execute(
            update(m.IdempotencyKeyRow)
            .where(m.IdempotencyKeyRow.principal == principal, m.IdempotencyKeyRow.key == key)
            .values(
                response_status=response.status_code,
                response_body=response.body,
                response_headers=response.headers,
            )
        )

    def release(self, principal: str, key: str) -> None:
        self.session.execute(
            delete(m.IdempotencyKeyRow).where(
                m.IdempotencyKeyRow.principal == principal, m.IdempotencyKeyRow.key == key
            )
        )
