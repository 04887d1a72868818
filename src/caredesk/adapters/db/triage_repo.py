"""Triage's tables: routing rules, intent labels and models, each case's latest triage.

The routing rules and which intent model is in force, read by the triage of every customer
message, are kept per process (config_cache.py, kinds `routing` and `intent_model`): every
change to either moves its kind's stamp."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import defer

from caredesk.adapters.db import models as m
from caredesk.adapters.db.config_cache import Cached, ConfigKind, ConfigReads, copied
from caredesk.adapters.db.conflicts import version_conflict
from caredesk.adapters.db.rows import add_row, from_row, insert, onto_row
from caredesk.domain.intents import CaseTriage, IntentLabel, IntentModelInfo
from caredesk.domain.triage import RoutingRule, RoutingRuleSpec


def _rule(row: m.RoutingRuleRow) -> RoutingRule:
    return from_row(RoutingRule, row, spec=RoutingRuleSpec.model_validate(row.spec))


def _rule_onto(
    rule: RoutingRule, row: m.RoutingRuleRow, actor: str, now: datetime
) -> m.RoutingRuleRow:
    # The rule's version is the row's optimistic lock, moved by the session.
    spec = rule.spec.model_dump(mode="json")
    return onto_row(rule, row, skip=("id", "version"), spec=spec, updated_at=now, updated_by=actor)


def _all_rules(session: OrmSession) -> tuple[RoutingRule, ...]:
    rows = session.scalars(
        select(m.RoutingRuleRow).order_by(m.RoutingRuleRow.position, m.RoutingRuleRow.id)
    )
    return tuple(_rule(r) for r in rows)


def _active_version(session: OrmSession) -> int | None:
    active = m.IntentModelRow.active.is_(True)
    return session.scalar(select(m.IntentModelRow.version).where(active))


_RULES = Cached(ConfigKind.ROUTING, _all_rules)
_ACTIVE_MODEL = Cached(ConfigKind.INTENT_MODEL, _active_version)


# The session's note of the cases a read of this transaction found without a triage record
# (`SqlCaseRepository.with_customers_newest`): the session finds a case's record by its key
# without a query when it holds it, but cannot know of one that does not exist.
UNTRIAGED_CASES = "caredesk_untriaged_cases"


class SqlTriageRepository:
    def __init__(self, session: OrmSession, config: ConfigReads) -> None:
        self.session = session
        self.config = config
        # A case's triage record as this transaction read it (None: it has none yet), held:
        # triage reads it, then saves it, and the session's identity map holds rows weakly.
        self._triage_rows: dict[int, m.CaseTriageRow | None] = {}

    def rules(self) -> list[RoutingRule]:
        return [copied(r) for r in self.config.get(_RULES)]

    def get_rule(self, rule_id: int) -> RoutingRule | None:
        row = self.session.get(m.RoutingRuleRow, rule_id)
        return _rule(row) if row is not None else None

    def add_rule(self, rule: RoutingRule, actor: str, now: datetime) -> None:
        row = insert(self.session, _rule_onto(rule, m.RoutingRuleRow(), actor, now))
        rule.id = row.id
        rule.version = row.version
        self.config.changed(ConfigKind.ROUTING)

    def save_rule(self, rule: RoutingRule, actor: str, now: datetime) -> None:
        row = self.session.get(m.RoutingRuleRow, rule.id)
        assert row is not None
        if row.version != rule.version:
            raise version_conflict("routing rule", rule.id, rule.version, row.version)
        _rule_onto(rule, row, actor, now)
        self.session.flush()
        rule.version = row.version
        self.config.changed(ConfigKind.ROUTING)

    def delete_rule(self, rule_id: int) -> None:
        self.session.execute(delete(m.RoutingRuleRow).where(m.RoutingRuleRow.id == rule_id))
        self.config.changed(ConfigKind.ROUTING)

    def add_label(self, label: IntentLabel) -> None:
        add_row(self.session, label, m.IntentLabelRow())

    def labels(self) -> list[IntentLabel]:
        latest = (
            select(func.max(m.IntentLabelRow.id))
            .where(m.IntentLabelRow.case_id.is_not(None))
            .group_by(m.IntentLabelRow.case_id)
        )
        rows = self.session.scalars(
            select(m.IntentLabelRow)
            .where(m.IntentLabelRow.case_id.is_(None) | m.IntentLabelRow.id.in_(latest))
            .order_by(m.IntentLabelRow.id)
        )
        return [from_row(IntentLabel, r) for r in rows]

    def add_model(self, info: IntentModelInfo, artifact: bytes) -> None:
        # A model is put in force by activate_model(), never as it is added.
        insert(self.session, onto_row(info, m.IntentModelRow(), artifact=artifact, active=False))
        self.config.changed(ConfigKind.INTENT_MODEL)

    def activate_model(self, version: int) -> None:
        self.session.execute(
            update(m.IntentModelRow)
            .values(active=m.IntentModelRow.version == version)
            .execution_options(synchronize_session=False)
        )
        self.config.changed(ConfigKind.INTENT_MODEL)

    def models(self) -> list[IntentModelInfo]:
        rows = self.session.scalars(
            select(m.IntentModelRow)
            .options(defer(m.IntentModelRow.artifact))
            .order_by(m.IntentModelRow.version)
        )
        return [from_row(IntentModelInfo, r) for r in rows]

    def active_model(self) -> IntentModelInfo | None:
        row = self.session.scalar(
            select(m.IntentModelRow)
            .options(defer(m.IntentModelRow.artifact))
            .where(m.IntentModelRow.active.is_(True))
        )
        return from_row(IntentModelInfo, row) if row else None

    def active_model_version(self) -> int | None:
        return self.config.get(_ACTIVE_MODEL)

    def model_artifact(self, version: int) -> bytes | None:
        return self.session.scalar(
            select(m.IntentModelRow.artifact).where(m.IntentModelRow.version == version)
        )

    def next_model_version(self) -> int:
        return (
            int(
                self.session.scalar(select(func.coalesce(func.max(m.IntentModelRow.version), 0)))
                or 0
            )
            + 1
        )

    def save_case_triage(self, triage: CaseTriage) -> None:
        row = self._triage_row(triage.case_id)
        if row is None:
            # A concurrent transaction that added it first makes this insert fail: the
            # command runs again and finds that one.
            row = self._triage_rows[triage.case_id] = m.CaseTriageRow(case_id=triage.case_id)
            self.session.add(row)
        onto_row(triage, row, skip=("case_id",))
        self.session.flush()

    def case_triage(self, case_id: int) -> CaseTriage | None:
        row = self._triage_row(case_id)
        return from_row(CaseTriage, row) if row is not None else None

    def _triage_row(self, case_id: int) -> m.CaseTriageRow | None:
        if case_id not in self._triage_rows:
            untriaged = self.session.info.get(UNTRIAGED_CASES, ())
            self._triage_rows[case_id] = (
                None if case_id in untriaged else self.session.get(m.CaseTriageRow, case_id)
            )
        return self._triage_rows[case_id]
