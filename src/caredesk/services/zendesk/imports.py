"""`caredesk import zendesk`: a Zendesk account's people, teams, fields, tickets and ratings
stored as the desk's own, resumably and once (docs/zendesk.md, "Importing from Zendesk").

Each object is written in its own transaction with the row saying what it became, so a run
stopped anywhere loses nothing and doubles nothing; users and tickets, read through
Zendesk's incremental streams, also keep the cursor of the last page wholly stored, and a
new run reads on from there. Imported history is filed, not lived: it sends no mail, feeds
no webhook and starts no SLA clock, and each object gets one audit line saying it was
imported instead of a replay of its changes (with triage's, for a case triaged as stored)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from caredesk.domain.agents import Actor, Agent, Permission, Role, Team
from caredesk.domain.attachments import AttachmentLimits
from caredesk.domain.customers import Customer, normalise_email
from caredesk.domain.errors import DomainError
from caredesk.domain.portal import SatisfactionSurvey
from caredesk.services.cases.customers import new_customer_id
from caredesk.services.knowledge.triage.engine import TriageEngine
from caredesk.services.zendesk.import_records import (
    SURVEY_SCORES,
    BrokenRecord,
    ImportObserver,
    ImportUnit,
    Outcome,
    Skip,
    audit_line,
    is_newer,
    required_when,
    source_id,
    when,
)
from caredesk.services.zendesk.import_tickets import TicketImport
from caredesk.services.zendesk.ports import PageDone, Record, TicketField, ZendeskSource

# A rating Zendesk offered the requester and that was not answered (yet).
OFFERED = "offered"
# In the order they are read: tickets name the groups, users and fields read before them.
KINDS = ("ticket_fields", "groups", "organizations", "users", "tickets", "satisfaction_ratings")


@dataclass
class ZendeskImport:
    """One run of the import from `source` into the desk, each object in a unit of its own."""

    source: ZendeskSource
    new_unit: Callable[[], ImportUnit]
    actor: Actor
    now: datetime
    observer: ImportObserver
    limits: AttachmentLimits = field(default_factory=AttachmentLimits)
    # The desk's triage, run on each case whose customer wrote (None: cases stay untriaged).
    triage: TriageEngine | None = None

    def run(self) -> None:
        self.actor.require(Permission.WRITE_CASES)
        self.actor.require(Permission.MANAGE_AGENTS)
        # Nothing is written before the account answered and took the credential.
        self.source.check()
        tickets = TicketImport(self.source, self.actor, self.now, self.limits, self.triage)
        steps: dict[str, Callable[[ImportUnit, Record], Outcome]] = {
            "ticket_fields": self._ticket_field,
            "groups": self._group,
            "organizations": self._organization,
            "users": self._user,
            "tickets": tickets.store,
            "satisfaction_ratings": self._rating,
        }
        for kind in KINDS:
            for item in self._read(kind):
                if isinstance(item, PageDone):
                    self._checkpoint(kind, item.cursor)
                else:
                    self._one(kind, item, steps[kind], tickets)

    def _read(self, kind: str) -> Iterator[Record | PageDone]:
        if kind in ("users", "tickets"):
            with self.new_unit() as uow:
                cursor = uow.zendesk_imports.checkpoint(self.source.url, kind)
            read = self.source.users if kind == "users" else self.source.tickets
            return read(cursor)
        lists: dict[str, Callable[[], Iterator[Record]]] = {
            "ticket_fields": self.source.ticket_fields,
            "groups": self.source.groups,
            "organizations": self.source.organizations,
            "satisfaction_ratings": self.source.satisfaction_ratings,
        }
        return iter(lists[kind]())

    def _checkpoint(self, kind: str, cursor: str) -> None:
        with self.new_unit() as uow:
            uow.zendesk_imports.save_checkpoint(self.source.url, kind, cursor, self.now)
            uow.commit()

    def _one(
        self,
        kind: str,
        record: Record,
        store: Callable[[ImportUnit, Record], Outcome],
        tickets: TicketImport,
    ) -> None:
        """Store one object in a transaction of its own; a broken one is reported, and the
        import goes on with the next."""
        tickets.skips.clear()
        try:
            with self.new_unit() as uow:
                outcome = store(uow, record)
                if outcome is not Outcome.UNCHANGED:
                    uow.commit()
        except (BrokenRecord, DomainError, KeyError, TypeError, ValueError) as exc:
            ident = str(record.get("id", "?"))
            self.observer.skipped(Skip(kind, ident, "broken record", {"error": str(exc)}))
            self.observer.counted(kind, Outcome.SKIPPED)
            return
        for skip in tickets.skips:
            self.observer.skipped(skip)
        self.observer.counted(kind, outcome)
        self.observer.stored(kind)

    # -- the objects other than tickets -----------------------------------------------------

    def _known(
        self, uow: ImportUnit, kind: str, record: Record
    ) -> tuple[str, datetime | None, str | None]:
        """The record's id, its update time, and what it became if stored and not changed
        since (None: it is to be stored)."""
        sid = source_id(record)
        updated = when(record, "updated_at")
        known = uow.zendesk_imports.imported(self.source.url, kind, sid)
        if known is not None and not is_newer(updated, known.source_updated_at):
            return sid, updated, known.local_id
        return sid, updated, None

    def _remember(
        self, uow: ImportUnit, kind: str, sid: str, local_id: str, updated: datetime | None
    ) -> Outcome:
        known = uow.zendesk_imports.imported(self.source.url, kind, sid)
        uow.zendesk_imports.remember(self.source.url, kind, sid, local_id, updated)
        return Outcome.IMPORTED if known is None else Outcome.UPDATED

    def _ticket_field(self, uow: ImportUnit, record: Record) -> Outcome:
        sid, updated, stored = self._known(uow, "ticket_field", record)
        if stored is not None:
            return Outcome.UNCHANGED
        options = record.get("custom_field_options") or record.get("system_field_options") or []
        uow.ticket_fields.put(
            TicketField(
                id=int(sid),
                title=str(record.get("title") or ""),
                type=str(record.get("type") or "text"),
                active=bool(record.get("active", True)),
                options=[dict(option) for option in options],
                position=int(record.get("position") or 0),
            )
        )
        return self._remember(uow, "ticket_field", sid, sid, updated)

    def _group(self, uow: ImportUnit, record: Record) -> Outcome:
        """A group is the team of the same name, made if the desk has none."""
        sid, updated, stored = self._known(uow, "group", record)
        if stored is not None:
            return Outcome.UNCHANGED
        team = Team(id=None, name=str(record.get("name") or ""))
        existing = uow.teams.get_by_name(team.name)
        if existing is None:
            uow.teams.add(team)
            entity = ("team", str(team.id))
            uow.audit.append(audit_line(self.now, self.actor.ref, "team.imported", entity, {}))
        else:
            team = existing
        return self._remember(uow, "group", sid, str(team.id), updated)

    def _organization(self, uow: ImportUnit, record: Record) -> Outcome:
        """An organisation is kept by name: its tickets' cases are tagged `org:<name>`."""
        sid, updated, stored = self._known(uow, "organization", record)
        if stored is not None:
            return Outcome.UNCHANGED
        name = str(record.get("name") or "").strip()
        if not name:
            raise BrokenRecord("an organisation needs a name")
        return self._remember(uow, "organization", sid, name, updated)

    def _user(self, uow: ImportUnit, record: Record) -> Outcome:
        """End users are customers, agents and admins agents; each found by email first."""
        sid, updated, stored = self._known(uow, "user", record)
        if stored is not None:
            return Outcome.UNCHANGED
        known = uow.zendesk_imports.imported(self.source.url, "user", sid)
        if known is not None:
            # The person is the desk's own now: a later change at the source moves nothing.
            return self._remember(uow, "user", sid, known.local_id, updated)
        email = record.get("email")
        address = normalise_email(email).lower() if isinstance(email, str) and email else None
        if record.get("role") in ("agent", "admin"):
            if address is None:
                raise BrokenRecord("an agent needs an email")
            local = f"agent:{self._agent(uow, record, address)}"
        else:
            local = f"customer:{self._customer(uow, record, address)}"
        return self._remember(uow, "user", sid, local, updated)

    def _agent(self, uow: ImportUnit, record: Record, address: str) -> int:
        agent = uow.agents.get_by_email(address)
        if agent is None:
            # Kept for authorship only: no password and not active, so it cannot sign in.
            role = Role.ADMIN if record.get("role") == "admin" else Role.AGENT
            name = str(record.get("name") or address)
            agent = Agent(id=None, email=address, name=name, role=role, active=False)
            uow.agents.add(agent)
            entity = ("agent", str(agent.id))
            after = {"email": address, "role": role.value, "active": False}
            uow.audit.append(audit_line(self.now, self.actor.ref, "agent.imported", entity, after))
        assert agent.id is not None
        return agent.id

    def _customer(self, uow: ImportUnit, record: Record, address: str | None) -> str:
        owner = uow.customers.email_owner(address) if address else None
        if owner is not None:
            return owner
        first, _, last = str(record.get("name") or "").strip().partition(" ")
        created = when(record, "created_at") or self.now
        customer = Customer(
            id=new_customer_id(),
            first_name=first,
            last_name=last.strip(),
            emails=[address] if address else [],
            created_at=created,
            updated_at=when(record, "updated_at") or created,
        )
        uow.customers.add(customer)
        entity = ("customer", customer.id)
        uow.audit.append(audit_line(self.now, self.actor.ref, "customer.imported", entity, {}))
        return customer.id

    def _rating(self, uow: ImportUnit, record: Record) -> Outcome:
        """A rating is the case's satisfaction survey: good 5, bad 1; one `offered` and not
        answered is a survey sent that nobody answered (and nobody can now)."""
        sid, updated, stored = self._known(uow, "satisfaction_rating", record)
        if stored is not None:
            return Outcome.UNCHANGED
        named = str(record.get("score"))
        if named not in SURVEY_SCORES and named != OFFERED:
            raise BrokenRecord(f"a rating of {record.get('score')!r} is none a survey holds")
        ticket = uow.zendesk_imports.imported(self.source.url, "ticket", str(record["ticket_id"]))
        case = uow.cases.get(int(ticket.local_id)) if ticket is not None else None
        if case is None or case.id is None:
            raise BrokenRecord(f"ticket {record.get('ticket_id')} was not imported")
        sent = required_when(record, "created_at")
        survey = uow.portal.survey_for_case(case.id) or SatisfactionSurvey(
            id=None,
            case_id=case.id,
            customer_id=case.customer_id,
            token_hash=hashlib.sha256(f"{self.source.url}#rating:{sid}".encode()).hexdigest(),
            sent_at=sent,
            # Closed from the start: no link to it was ever sent from this desk.
            expires_at=sent,
        )
        survey.score = SURVEY_SCORES.get(named)
        survey.comment = str(record.get("comment") or "")
        survey.answered_at = (updated or sent) if survey.score is not None else None
        if survey.id is None:
            uow.portal.add_survey(survey)
        else:
            uow.portal.save_survey(survey)
        return self._remember(uow, "satisfaction_rating", sid, str(case.id), updated)
