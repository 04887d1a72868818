"""The models and the Alembic migrations describe the same schema, on every backend."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select

from caredesk.adapters.db.migrate import current_heads, downgrade, script_heads, upgrade
from caredesk.adapters.db.migrations import env_filters
from caredesk.adapters.db.models import ArticleRow, Base, CustomerRow
from caredesk.bootstrap import Container, survey_options
from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import CaseStatus, Channel
from caredesk.domain.customers import Address, Customer
from caredesk.domain.orders import Order, OrderLine, OrderStatus, Shipment
from caredesk.domain.search import IndexedText, SearchKind
from caredesk.services.cases import cases, customers
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.channels import mail_templates
from caredesk.services.channels.portal_mail import SURVEY_EVERY, SURVEY_TIMER, send_surveys
from caredesk.services.core.templates import MACRO_VARIABLES, check_macro, fill_macro


def test_models_and_migrations_agree(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_object": env_filters.include_object, "compare_type": True},
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_history_has_one_head_and_the_database_stands_at_it(migrated_engine: Engine) -> None:
    # Each new revision follows the last one: `db upgrade` names one revision, not several.
    assert len(script_heads(migrated_engine)) == 1
    assert current_heads(migrated_engine) == script_heads(migrated_engine)


def test_every_model_table_exists(migrated_engine: Engine) -> None:
    existing = set(inspect(migrated_engine).get_table_names())
    assert set(Base.metadata.tables) <= existing


def test_the_comparison_notices_a_model_change(migrated_engine: Engine) -> None:
    from sqlalchemy import Column, Integer, MetaData

    changed = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["cases"].append_column(Column("not_migrated", Integer))
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": env_filters.include_object}
        )
        differences = compare_metadata(context, changed)
    assert [d[0] for d in differences] == ["add_column"]


def test_customer_numbers_carry_on_after_the_upgrade_that_adds_their_sequence(
    container: Container,
) -> None:
    engine = container.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("the sequence is PostgreSQL's; SQLite numbers its one writer's customers")
    downgrade(engine, "0011_customer_numbers-1")
    try:
        with engine.begin() as conn:
            for seq in (1, 2, 7):
                conn.execute(
                    insert(CustomerRow).values(
                        id=f"before-{seq}", seq=seq, first_name="Old", last_name="Customer",
                        name_key="old customer", phones=[], addresses=[], tier="standard",
                        created_at=container.clock.now(), updated_at=container.clock.now(),
                        version=1,
                    )
                )  # fmt: skip
    finally:
        upgrade(engine)
    created = customers.create_customer(
        container.uow(), SYSTEM, container.clock.now(),
        first_name="New", last_name="Customer", emails=["new@example.com"],
    )  # fmt: skip
    with engine.connect() as conn:
        number = conn.execute(select(CustomerRow.seq).where(CustomerRow.id == created.id))
        assert number.scalar_one() == 8


def _macro_rows(container: Container) -> dict[str, tuple[str, str]]:
    with container.engine.connect() as conn:
        rows = conn.execute(select(ArticleRow.slug, ArticleRow.body, ArticleRow.body_html))
        return {slug: (body, html) for slug, body, html in rows}


def test_stored_macros_become_jinja_templates_that_fill_as_they_did(
    container: Container,
) -> None:
    engine, now = container.engine, container.clock.now()
    written = {
        "greeting": ("macro", "Hi {first_name}, order {order_id} is on its way.\n\n{agent_name}"),
        "lone-brace": ("macro", "Hello { world"),
        "escaped": ("macro", "Use {{braces}} and {unknown} for {first_name}"),
        "jinja-lookalike": ("macro", "100% {% sure, {#1 for {first_name}"),
        # An article is no template: its braces are left alone.
        "article": ("article", "Set {first_name} in the profile."),
    }
    downgrade(engine, "0015_macro_templates-1")
    try:
        with engine.begin() as conn:
            for slug, (kind, body) in written.items():
                conn.execute(
                    insert(ArticleRow).values(
                        slug=slug, kind=kind, title=slug, body=body,
                        body_html=f"<p>{body}</p>", tags=[], product_ids=[], locale="en",
                        visibility="internal", status="published", author="system",
                        created_at=now, updated_at=now, version=1,
                    )
                )  # fmt: skip
    finally:
        upgrade(engine)
    stored = _macro_rows(container)
    assert stored["greeting"][0] == (
        "Hi {{ first_name }}, order {{ order_id }} is on its way.\n\n{{ agent_name }}"
    )
    assert stored["greeting"][1] == (
        "<p>Hi {{ first_name }}, order {{ order_id }} is on its way.\n\n{{ agent_name }}</p>"
    )
    assert stored["article"][0] == written["article"][1]
    values = {name: f"<{name}>" for name in MACRO_VARIABLES}
    # Each macro fills to what str.format (with unknown names kept as written) made of it;
    # the lone brace, which str.format could not read, is now plain text.
    expected = {
        "greeting": "Hi <first_name>, order <order_id> is on its way.\n\n<agent_name>",
        "lone-brace": "Hello { world",
        "escaped": "Use {braces} and {unknown} for <first_name>",
        "jinja-lookalike": "100% {% sure, {#1 for {first_name}",
    }
    for slug, text in expected.items():
        check_macro(stored[slug][0])
        assert fill_macro(stored[slug][0], values) == text, slug

    downgrade(engine, "0015_macro_templates-1")
    try:
        back = _macro_rows(container)
        assert back["greeting"][0] == written["greeting"][1]
        assert back["greeting"][1] == f"<p>{written['greeting'][1]}</p>"
        assert back["lone-brace"][0] == "Hello { world"
    finally:
        upgrade(engine)


def _rows(engine: Engine, table: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.select(sa.text("*")).select_from(sa.table(table)).order_by(sa.text("id"))
            )
        ]


def _customer(container: Container) -> str:
    now = container.clock.now()
    with container.uow() as uow:
        if uow.customers.get("ada") is None:
            uow.customers.add(
                Customer(
                    id="ada", first_name="Ada", last_name="Lovelace", emails=["a@example.com"],
                    created_at=now, updated_at=now,
                )
            )  # fmt: skip
            uow.commit()
    return "ada"


def _order_with_shipments(container: Container, order_id: str, parcels: int) -> Order:
    now = container.clock.now()
    order = Order(
        id=order_id,
        customer_id=_customer(container),
        status=OrderStatus.PROCESSED,
        address=Address("1 Analytical Way", city="London", country="UK"),
        lines=[OrderLine("v-lamp", "p-lamp", "Desk lamp", Decimal("40.00"))],
        shipments=[
            Shipment([f"1Z{order_id}{n}"], ["v-lamp"], "UPS", now, (now + timedelta(days=n)).date())
            for n in range(parcels)
        ],
        placed_at=now,
    )
    with container.uow() as uow:
        uow.orders.add(order)
        uow.commit()
    return order


def test_shipments_keep_their_rows_when_the_table_takes_its_new_name(
    container: Container,
) -> None:
    engine = container.engine
    first = _order_with_shipments(container, "#W1", parcels=2)
    before = _rows(engine, "shipments")
    assert len(before) == 2
    downgrade(engine, "0021_shipments-1")
    try:
        assert "shipments" not in inspect(engine).get_table_names()
        assert _rows(engine, "fulfilments") == before
    finally:
        upgrade(engine)
    assert _rows(engine, "shipments") == before
    # New rows carry on after the old ones: on PostgreSQL the id sequence came along.
    second = _order_with_shipments(container, "#W2", parcels=1)
    after = _rows(engine, "shipments")
    assert after[:2] == before and after[2][0] > before[1][0]
    with container.uow() as uow:
        assert [uow.orders.get(o.id).shipments for o in (first, second)] == [
            first.shipments,
            second.shipments,
        ]


def _survey_state(engine: Engine, surveys: str) -> dict[str, Any]:
    with engine.connect() as conn:

        def column(table: str, name: str) -> list[Any]:
            return sorted(conn.execute(sa.select(sa.column(name)).select_from(sa.table(table))))

        return {
            "surveys": _rows(engine, surveys),
            "templates": column("mail_templates", "name"),
            "mail": column("mail_messages", "template"),
            "timers": column("job_timers", "name"),
        }


def test_surveys_their_mail_template_and_timer_keep_their_data_under_the_new_names(
    container: Container,
) -> None:
    engine, now = container.engine, container.clock.now()
    customer_id = _customer(container)
    for subject in ("Lamp", "Kettle"):
        view = cases.create_case(
            container.uow(), SYSTEM, now, customer_id=customer_id, subject=subject, body="Broken.",
            channel=Channel.EMAIL,
        )  # fmt: skip
        assert view.case.id is not None
        cases.change_status(container.uow(), SYSTEM, now, view.case.id, CaseStatus.SOLVED)
    mail_templates.edit_template(
        container.uow(),
        SYSTEM,
        now,
        "satisfaction_survey",
        subject="Hi",
        text="{{ link }}",
        html=None,
    )
    send_surveys(container.job_context(), survey_options(container.settings))
    with container.uow() as uow:
        assert uow.jobs.claim_timer(SURVEY_TIMER, SURVEY_EVERY, now)
        uow.commit()
    after = _survey_state(engine, "satisfaction_surveys")
    assert len(after["surveys"]) == 2
    assert after["templates"] == [("satisfaction_survey",)]
    assert after["mail"].count(("satisfaction_survey",)) == 2
    assert after["timers"] == [("satisfaction.surveys",)]
    downgrade(engine, "0023_satisfaction_surveys-1")
    try:
        before = _survey_state(engine, "csat_surveys")
        assert "satisfaction_surveys" not in inspect(engine).get_table_names()
        assert before["surveys"] == after["surveys"]
        assert before["templates"] == [("csat_survey",)]
        assert before["mail"].count(("csat_survey",)) == 2
        assert before["timers"] == [("csat.surveys",)]
    finally:
        upgrade(engine)
    assert _survey_state(engine, "satisfaction_surveys") == after


def test_searches_keep_finding_rows_down_and_up_past_the_stored_lexemes(
    container: Container,
) -> None:
    engine = container.engine
    with container.uow() as uow:
        uow.search.upsert(
            IndexedText(SearchKind.ARTICLE, "1", "Printer offline", "Restart the printer."),
            container.clock.now(),
        )
        uow.commit()
    case = cases.create_case(
        container.uow(), SYSTEM, container.clock.now(), customer_id=_customer(container),
        subject="Printer offline", body="It will not print", channel=Channel.EMAIL,
    ).case  # fmt: skip

    def found() -> tuple[int, list[int]]:
        with container.uow.read_only() as uow:
            entries = uow.search.lexical(["printer"], [], False, 10)
            listed = uow.cases.find(CaseFilter(text="print"), 10, None).items
        return len(entries), [c.id for c in listed if c.id is not None]

    def shape(table: str) -> tuple[bool, set[str]]:
        inspector = inspect(engine)
        columns = {c["name"] for c in inspector.get_columns(table)}
        return "lexemes" in columns, {i["name"] for i in inspector.get_indexes(table)}

    expression_indexes = {
        "search_entries": "ix_search_entries_tsv",
        "cases": "ix_cases_subject_tsv",
        "messages": "ix_messages_body_tsv",
    }
    assert found() == (1, [case.id])
    downgrade(engine, "0025_search_lexemes-1")
    try:
        if engine.dialect.name == "postgresql":
            for table, old_index in expression_indexes.items():
                has_lexemes, indexes = shape(table)
                assert not has_lexemes and old_index in indexes
                assert f"ix_{table}_lexemes" not in indexes
    finally:
        upgrade(engine)
    if engine.dialect.name == "postgresql":
        for table, old_index in expression_indexes.items():
            has_lexemes, indexes = shape(table)
            assert has_lexemes and f"ix_{table}_lexemes" in indexes
            assert old_index not in indexes
    # The stored words were computed for the rows already there.
    assert found() == (1, [case.id])
