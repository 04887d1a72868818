"""Triage's tables: routing rules, intent labels and models, each case's latest triage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import defer

from caredesk.adapters.db import models as m
from caredesk.adapters.db.conflicts import version_conflict
from caredesk.domain.intents import CaseTriage, IntentLabel, IntentModelInfo, LabelSource
from caredesk.domain.triage import RoutingRule, RoutingRuleSpec


class SqlTriageRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def rules(self) -> list[RoutingRule]:
        rows = self.session.scalars(
            select(m.RoutingRuleRow).order_by(m.RoutingRuleRow.position, m.RoutingRuleRow.id)
        )
        return [
            RoutingRule(r.id, r.position, RoutingRuleSpec.model_validate(r.spec), r.version)
            for r in rows
        ]

    def get_rule(self, rule_id: int) -> RoutingRule | None:
        r = self.session.get(m.RoutingRuleRow, rule_id)
        if r is None:
            return None
        return RoutingRule(r.id, r.position, RoutingRuleSpec.model_validate(r.spec), r.version)

    def add_rule(self, rule: RoutingRule, actor: str, now: datetime) -> None:
        row = m.RoutingRuleRow(
            position=rule.position,
            spec=rule.spec.model_dump(mode="json"),
            updated_at=now,
            updated_by=actor,
        )
        self.session.add(row)
        self.session.flush()
        rule.id = row.id
        rule.version = row.version

    def save_rule(self, rule: RoutingRule, actor: str, now: datetime) -> None:
        row = self.session.get(m.RoutingRuleRow, rule.id)
        assert row is not None
        if row.version != rule.version:
            raise version_conflict("routing rule", rule.id, rule.version, row.version)
        row.position = rule.position
        row.spec = rule.spec.model_dump(mode="json")
        row.updated_at = now
        row.updated_by = actor
        self.session.flush()
        rule.version = row.version

    def delete_rule(self, rule_id: int) -> None:
        self.session.execute(delete(m.RoutingRuleRow).where(m.RoutingRuleRow.id == rule_id))

    def add_label(self, label: IntentLabel) -> None:
        row = m.IntentLabelRow(
            case_id=label.case_id,
            text=label.text,
            intent=label.intent,
            source=label.source.value,
            created_by=label.created_by,
            created_at=label.created_at,
        )
        self.session.add(row)
        self.session.flush()
        label.id = row.id

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
        return [
            IntentLabel(
                text=r.text,
                intent=r.intent,
                source=LabelSource(r.source),
                created_by=r.created_by,
                created_at=r.created_at,
                case_id=r.case_id,
                id=r.id,
            )
            for r in rows
        ]

    def add_model(self, info: IntentModelInfo, artifact: bytes) -> None:
        self.session.add(
            m.IntentModelRow(
                version=info.version,
                method=info.method,
                labels=list(info.labels),
                examples=info.examples,
                metrics=dict(info.metrics),
                artifact=artifact,
                trained_at=info.trained_at,
                trained_by=info.trained_by,
                active=False,
            )
        )
        self.session.flush()

    def activate_model(self, version: int) -> None:
        self.session.execute(
            update(m.IntentModelRow)
            .values(active=m.IntentModelRow.version == version)
            .execution_options(synchronize_session=False)
        )

    def _info(self, r: m.IntentModelRow) -> IntentModelInfo:
        return IntentModelInfo(
            version=r.version,
            method=r.method,
            labels=list(r.labels),
            examples=r.examples,
            metrics=dict(r.metrics),
            trained_at=r.trained_at,
            trained_by=r.trained_by,
            active=r.active,
        )

    def models(self) -> list[IntentModelInfo]:
        rows = self.session.scalars(
            select(m.IntentModelRow)
            .options(defer(m.IntentModelRow.artifact))
            .order_by(m.IntentModelRow.version)
        )
        return [self._info(r) for r in rows]

    def active_model(self) -> IntentModelInfo | None:
        row = self.session.scalar(
            select(m.IntentModelRow)
            .options(defer(m.IntentModelRow.artifact))
            .where(m.IntentModelRow.active.is_(True))
        )
        return self._info(row) if row else None

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
        row = self.session.get(m.CaseTriageRow, triage.case_id)
        if row is None:
            row = m.CaseTriageRow(case_id=triage.case_id)
            self.session.add(row)
        row.message_id = triage.message_id
        row.intent = triage.intent
        row.intent_confidence = triage.intent_confidence
        row.intent_source = triage.intent_source
        row.model_version = triage.model_version
        row.sentiment = triage.sentiment
        row.public_risk = triage.public_risk
        row.public_risk_confidence = triage.public_risk_confidence
        row.risk_signals = list(triage.risk_signals)
        row.moments = list(triage.moments)
        row.known_issues = list(triage.known_issues)
        row.language = triage.language
        row.rules = list(triage.rules)
        row.suggestions = list(triage.suggestions)
        row.triaged_at = triage.triaged_at
        self.session.flush()

    def case_triage(self, case_id: int) -> CaseTriage | None:
        r = self.session.get(m.CaseTriageRow, case_id)
        if r is None:
            return None
        return CaseTriage(
            case_id=r.case_id,
            triaged_at=r.triaged_at,
            intent=r.intent,
            intent_confidence=r.intent_confidence,
            intent_source=r.intent_source,
            sentiment=r.sentiment,
            public_risk=r.public_risk,
            public_risk_confidence=r.public_risk_confidence,
            language=r.language,
            model_version=r.model_version,
            message_id=r.message_id,
            risk_signals=list(r.risk_signals),
            moments=list(r.moments),
            known_issues=list(r.known_issues),
            rules=list(r.rules),
            suggestions=list(r.suggestions),
        )
