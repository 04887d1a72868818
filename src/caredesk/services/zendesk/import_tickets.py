"""One Zendesk ticket as a case: its fields, its comments in order as messages, its files.

A ticket seen again with a later `updated_at` updates its case (status, priority, tags,
team, assignee, custom fields) and appends the comments not stored yet, matched by their
Zendesk id. The case keeps the ticket's times, not the import's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caredesk.domain.agents import Actor
from caredesk.domain.attachments import AttachmentLimits
from caredesk.domain.cases import (
    Attachment,
    Case,
    CaseStatus,
    Channel,
    CustomValue,
    Message,
    MessageKind,
    Priority,
    normalise_tags,
)
from caredesk.domain.errors import DomainError
from caredesk.services.knowledge.triage.case_triage import triage_arrival
from caredesk.services.knowledge.triage.engine import TriageEngine
from caredesk.services.zendesk.import_records import (
    PRIORITIES,
    STATUSES,
    BrokenRecord,
    ImportUnit,
    Outcome,
    Skip,
    audit_line,
    is_newer,
    organization_tag,
    required_when,
    source_id,
)
from caredesk.services.zendesk.ports import DownloadFailed, Record, ZendeskSource

CHANNELS = {
    "email": Channel.EMAIL,
    "web": Channel.PORTAL,
    "api": Channel.API,
    "voice": Channel.PHONE,
    "chat": Channel.CHAT,
}


@dataclass
class TicketImport:
    source: ZendeskSource
    actor: Actor
    now: datetime
    limits: AttachmentLimits
    triage: TriageEngine | None = None
    # What the ticket in hand left out (a field, a tag, a file), reported once it is stored.
    skips: list[Skip] = field(default_factory=list)

    def store(self, uow: ImportUnit, record: Record) -> Outcome:
        sid = source_id(record)
        updated = required_when(record, "updated_at")
        known = uow.zendesk_imports.imported(self.source.url, "ticket", sid)
        if known is not None and not is_newer(updated, known.source_updated_at):
            return Outcome.UNCHANGED
        if record.get("status") not in STATUSES:
            raise BrokenRecord(f"status {record.get('status')!r} is not one a case has")
        comments = list(self.source.comments(int(sid)))
        case = uow.cases.get(int(known.local_id)) if known is not None else None
        if case is None:
            case = self._new_case(uow, record, sid)
        else:
            self._update_case(uow, case, record)
        assert case.id is not None
        inbound = self._messages(uow, case, comments)
        entity = ("case", str(case.id))
        action = "case.imported" if known is None else "case.import_updated"
        after = {"source": self.source.url, "ticket_id": int(sid)}
        uow.audit.append(audit_line(self.now, self.actor.ref, action, entity, after))
        if inbound is not None:
            self._triage(uow, case, inbound)
        uow.zendesk_imports.remember(self.source.url, "ticket", sid, str(case.id), updated)
        return Outcome.IMPORTED if known is None else Outcome.UPDATED

    def _triage(self, uow: ImportUnit, case: Case, inbound: int) -> None:
        """Triage the case on its customer's last words, as a live case is triaged when they
        arrive. What triage changed is audited, but not lived: the case's events are filed in
        the trail here instead of going to the bus, so no webhook hears of them and no SLA
        clock starts on history (a routing rule's match is audited as always)."""
        if self.triage is None:
            return
        assert case.id is not None
        words = [m.body for m in uow.cases.messages(case.id) if m.kind is MessageKind.INBOUND]
        kept = case.updated_at
        triage_arrival(uow, self.triage, self.now, case, "\n".join(words[-3:]), inbound)
        # Triage dates what it touches now; the case keeps the source's time, and the
        # triage record its own.
        case.updated_at = kept
        uow.cases.save(case)
        for event in case.events:
            for entry in event.audit_entries():
                uow.audit.append(entry)
        case.events.clear()

    # -- the case ---------------------------------------------------------------------------

    def _new_case(self, uow: ImportUnit, record: Record, sid: str) -> Case:
        requester = self._person(uow, record.get("requester_id"))
        if requester is None or not requester.startswith("customer:"):
            raise BrokenRecord(
                f"requester {record.get('requester_id')} is not an imported end user"
            )
        created = required_when(record, "created_at")
        via = record.get("via") or {}
        case = Case(
            id=None,
            subject=str(record.get("subject") or record.get("raw_subject") or f"Ticket {sid}"),
            customer_id=requester.removeprefix("customer:"),
            created_at=created,
            updated_at=created,
            channel=CHANNELS.get(str(via.get("channel")), Channel.API),
            external_id=str(record["external_id"]) if record.get("external_id") else None,
        )
        self._apply(uow, case, record)
        uow.cases.add(case)
        return case

    def _update_case(self, uow: ImportUnit, case: Case, record: Record) -> None:
        self._apply(uow, case, record)
        uow.cases.save(case)

    def _apply(self, uow: ImportUnit, case: Case, record: Record) -> None:
        """The ticket's fields onto the case, as they stand at the source."""
        status = STATUSES[str(record["status"])]
        updated = required_when(record, "updated_at")
        case.status = status
        # Zendesk's ticket has no solved time of its own: a solved or closed ticket was
        # last changed when it was solved or closed, so that time stands for both.
        case.solved_at = updated if status in (CaseStatus.SOLVED, CaseStatus.CLOSED) else None
        case.closed_at = updated if status is CaseStatus.CLOSED else None
        case.priority = PRIORITIES.get(str(record.get("priority")), Priority.NORMAL)
        case.assignee_id = self._agent_id(uow, record.get("assignee_id"))
        case.team_id = self._team_id(uow, record.get("group_id"))
        case.tags = self._tags(uow, record)
        fields = {k: v for k, v in case.custom_fields.items() if not k.isdigit()}
        case.custom_fields = fields | self._custom_fields(uow, record)
        case.updated_at = updated

    def _tags(self, uow: ImportUnit, record: Record) -> list[str]:
        wanted = [str(tag) for tag in record.get("tags") or []]
        org = record.get("organization_id")
        if org is not None:
            name = uow.zendesk_imports.imported(self.source.url, "organization", str(org))
            if name is not None:
                wanted.append(organization_tag(name.local_id))
        kept = []
        for tag in wanted:
            try:
                kept += normalise_tags([tag])
            except DomainError:
                self.skips.append(Skip("tag", str(record["id"]), "tag not allowed", {"tag": tag}))
        return sorted(set(kept))

    def _custom_fields(self, uow: ImportUnit, record: Record) -> dict[str, CustomValue]:
        found: dict[str, CustomValue] = {}
        for item in record.get("custom_fields") or []:
            field_id, value = item.get("id"), item.get("value")
            if value is None:
                continue
            if uow.ticket_fields.get(int(field_id)) is None:
                detail = {"ticket_id": record["id"], "field_id": field_id}
                self.skips.append(Skip("custom_field", str(field_id), "unknown field", detail))
                continue
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            found[str(field_id)] = (
                value if isinstance(value, str | int | float | bool) else str(value)
            )
        return found

    # -- people -----------------------------------------------------------------------------

    def _person(self, uow: ImportUnit, user_id: Any) -> str | None:
        if user_id is None:
            return None
        known = uow.zendesk_imports.imported(self.source.url, "user", str(user_id))
        return known.local_id if known is not None else None

    def _agent_id(self, uow: ImportUnit, user_id: Any) -> int | None:
        person = self._person(uow, user_id)
        if person is None or not person.startswith("agent:"):
            return None
        return int(person.removeprefix("agent:"))

    def _team_id(self, uow: ImportUnit, group_id: Any) -> int | None:
        if group_id is None:
            return None
        known = uow.zendesk_imports.imported(self.source.url, "group", str(group_id))
        return int(known.local_id) if known is not None else None

    # -- comments ---------------------------------------------------------------------------

    def _messages(self, uow: ImportUnit, case: Case, comments: list[Record]) -> int | None:
        """Store the comments not stored yet, oldest first; the id of the last customer
        message stored, for triage (None: no new words of the customer's)."""
        assert case.id is not None
        last_inbound = None
        for comment in comments:
            cid = source_id(comment)
            if uow.zendesk_imports.imported(self.source.url, "comment", cid) is not None:
                continue
            author = self._person(uow, comment.get("author_id")) or ""
            public = bool(comment.get("public", True))
            by_agent = author.startswith("agent:")
            kind = (
                MessageKind.NOTE
                if not public
                else MessageKind.OUTBOUND
                if by_agent
                else MessageKind.INBOUND
            )
            message = Message(
                id=None,
                case_id=case.id,
                kind=kind,
                body=str(comment.get("body") or comment.get("plain_body") or ""),
                created_at=required_when(comment, "created_at"),
                author_agent_id=int(author.removeprefix("agent:")) if by_agent else None,
                author_customer_id=None if by_agent else _customer(author, case),
                attachments=self._files(uow, comment),
            )
            uow.cases.add_message(message)
            uow.zendesk_imports.remember(
                self.source.url, "comment", cid, str(message.id), message.created_at
            )
            if kind is MessageKind.INBOUND:
                last_inbound = message.id
        return last_inbound

    def _files(self, uow: ImportUnit, comment: Record) -> list[Attachment]:
        stored = []
        for item in comment.get("attachments") or []:
            name = str(item.get("file_name") or "file")
            size = int(item.get("size") or 0)
            content = None
            detail = {"comment_id": comment["id"], "file_name": name, "size": size}
            try:
                if size <= self.limits.file_bytes:
                    content = self.source.download(str(item["content_url"]), self.limits.file_bytes)
            except DownloadFailed as exc:
                reason = f"could not be fetched: {exc}"
                self.skips.append(Skip("attachment", str(item.get("id")), reason, detail))
                continue
            if content is None:
                self.skips.append(
                    Skip("attachment", str(item.get("id")), "larger than the desk takes", detail)
                )
                continue
            stored.append(
                Attachment(
                    sha256=uow.blobs.put(content),
                    filename=name,
                    content_type=str(item.get("content_type") or "application/octet-stream"),
                    size=len(content),
                )
            )
        return stored


def _customer(author: str, case: Case) -> str:
    """The end user who wrote a comment; one not imported speaks as the case's customer."""
    return author.removeprefix("customer:") if author.startswith("customer:") else case.customer_id
