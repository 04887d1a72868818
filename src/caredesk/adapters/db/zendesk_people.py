"""The users of /api/v2 (services/zendesk/ports.py UserDirectory): customers and agents read
by their user ids, so that one keyset (the user id) pages both together."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, literal, or_, select, true
from sqlalchemy.dialects import postgresql, sqlite

from caredesk.adapters.db import mapping
from caredesk.adapters.db import models as m
from caredesk.adapters.db.search import escape_like
from caredesk.adapters.db.zendesk_repo import SqlUserIdRepository
from caredesk.services.zendesk.ports import PeopleFilter, Person

_ROW = m.ZendeskUserRow


def _kept(kept: PeopleFilter) -> ColumnElement[bool]:
    customers = _ROW.customer_id.is_not(None) if kept.customers else false()
    if kept.agent_roles is None:
        agents: ColumnElement[bool] = _ROW.agent_id.is_not(None)
    elif not kept.agent_roles:
        agents = false()
    else:
        roles = select(m.AgentRow.id).where(m.AgentRow.role.in_(sorted(kept.agent_roles)))
        agents = _ROW.agent_id.in_(roles)
    return or_(customers, agents)


class SqlUserDirectory(SqlUserIdRepository):
    def _insert(self) -> Any:
        return postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite

    def unnumbered(self) -> bool:
        customers = select(m.CustomerRow.id).where(
            ~exists().where(_ROW.customer_id == m.CustomerRow.id)
        )
        agents = select(m.AgentRow.id).where(~exists().where(_ROW.agent_id == m.AgentRow.id))
        return bool(self.session.scalar(select(or_(exists(customers), exists(agents)))))

    def number_everyone(self, now: datetime) -> None:
        # INSERT ... SELECT: the ids are given in the database, whatever the number of people;
        # ones another process numbered at the same moment are skipped, as in `assign`.
        stamp = literal(now, type_=_ROW.created_at.type)
        for column, key in ((_ROW.customer_id, m.CustomerRow.id), (_ROW.agent_id, m.AgentRow.id)):
            missing = select(key, stamp).where(~exists().where(column == key)).order_by(key)
            insert = self._insert().insert(_ROW).from_select([column, _ROW.created_at], missing)
            self.session.execute(insert.on_conflict_do_nothing())

    def _people(self, rows: Sequence[Any]) -> list[Person]:
        """The people of these (user id, customer id, agent id) rows, in their order."""
        customer_ids = [r.customer_id for r in rows if r.customer_id is not None]
        agent_ids = [r.agent_id for r in rows if r.agent_id is not None]
        customers = {
            c.id: mapping.customer_from_row(c)
            for c in self.session.scalars(
                select(m.CustomerRow).where(m.CustomerRow.id.in_(customer_ids))
            )
            if customer_ids
        }
        teams: dict[int, list[int]] = {}
        if agent_ids:
            links = select(m.AgentTeamRow).where(m.AgentTeamRow.agent_id.in_(agent_ids))
            for link in self.session.scalars(links.order_by(m.AgentTeamRow.team_id)):
                teams.setdefault(link.agent_id, []).append(link.team_id)
        agents = {
            a.id: mapping.agent_from_row(a, teams.get(a.id, []))
            for a in self.session.scalars(select(m.AgentRow).where(m.AgentRow.id.in_(agent_ids)))
            if agent_ids
        }
        people = [
            Person(r.id, customers.get(r.customer_id or ""), agents.get(r.agent_id or 0))
            for r in rows
        ]
        return [p for p in people if p.customer is not None or p.agent is not None]

    def _select(self) -> Any:
        return select(_ROW.id, _ROW.customer_id, _ROW.agent_id)

    def page(self, kept: PeopleFilter, after: int | None, limit: int) -> list[Person]:
        query = self._select().where(_kept(kept))
        if after is not None:
            query = query.where(_ROW.id > after)
        return self._people(list(self.session.execute(query.order_by(_ROW.id).limit(limit))))

    def count(self, kept: PeopleFilter) -> int:
        return int(
            self.session.scalar(select(func.count()).select_from(_ROW).where(_kept(kept))) or 0
        )

    def of_ids(self, user_ids: Collection[int]) -> list[Person]:
        if not user_ids:
            return []
        query = self._select().where(_ROW.id.in_(sorted(user_ids))).order_by(_ROW.id)
        return self._people(list(self.session.execute(query)))

    def matching(
        self, *, external_id: str | None, email: str | None, text: str | None, limit: int
    ) -> list[Person]:
        owner = m.CustomerEmailRow.customer_id
        conditions: list[ColumnElement[bool]] = []
        if external_id is not None:
            conditions.append(_ROW.customer_id == external_id)
        if email is not None:
            address = email.strip().lower()
            by_email = select(owner).where(func.lower(m.CustomerEmailRow.email) == address)
            agent = select(m.AgentRow.id).where(func.lower(m.AgentRow.email) == address)
            conditions.append(or_(_ROW.customer_id.in_(by_email), _ROW.agent_id.in_(agent)))
        if text is not None:
            like = f"%{escape_like(text.strip().lower())}%"
            conditions.append(_text_match(like))
        query = self._select().where(and_(true(), *conditions)).order_by(_ROW.id).limit(limit)
        return self._people(list(self.session.execute(query)))

    def changed(self, after: tuple[datetime, int], limit: int) -> list[tuple[datetime, Person]]:
        # Customers change at their updated time; the desk keeps no change time for agents,
        # so an agent counts as changed when it was numbered. Each is read by its own index,
        # a page at most, and the two merged: no statement sorts a whole table.
        at, uid = after
        customers = select(m.CustomerRow.updated_at, _ROW.id).join(
            _ROW, _ROW.customer_id == m.CustomerRow.id
        )
        agents = select(_ROW.created_at, _ROW.id).where(_ROW.agent_id.is_not(None))
        rows: list[tuple[datetime, int]] = []
        for query, moment in ((customers, m.CustomerRow.updated_at), (agents, _ROW.created_at)):
            past = and_(moment >= at, or_(moment > at, _ROW.id > uid))
            query = query.where(past).order_by(moment, _ROW.id).limit(limit)
            rows += [(when, user_id) for when, user_id in self.session.execute(query)]
        rows = sorted(rows)[:limit]
        found = {p.user_id: p for p in self.of_ids([user_id for _, user_id in rows])}
        return [(when, found[user_id]) for when, user_id in rows if user_id in found]


def _text_match(like: str) -> ColumnElement[bool]:
    email_owner = select(m.CustomerEmailRow.customer_id).where(
        func.lower(m.CustomerEmailRow.email).like(like, escape="\\")
    )
    named = select(m.CustomerRow.id).where(m.CustomerRow.name_key.like(like, escape="\\"))
    agents = select(m.AgentRow.id).where(
        or_(
            func.lower(m.AgentRow.name).like(like, escape="\\"),
            func.lower(m.AgentRow.email).like(like, escape="\\"),
        )
    )
    return or_(
        _ROW.customer_id.in_(email_owner),
        _ROW.customer_id.in_(named),
        _ROW.agent_id.in_(agents),
    )
