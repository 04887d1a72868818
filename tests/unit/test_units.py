"""Each feature's commands run in their own, narrow unit of work.

mypy is what stops a command from touching a repository outside its unit; these tests keep
the units narrow (no feature quietly asks for the whole unit of work) and say, as data,
which features may reach money.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from caredesk.services.access.unit import AccessUnit
from caredesk.services.cases.unit import CasesUnit
from caredesk.services.channels.unit import (
    MailIntakeUnit,
    OutboundMailUnit,
    PortalUnit,
    WebhooksUnit,
)
from caredesk.services.console.unit import ConsoleUnit
from caredesk.services.core.unit import AuditUnit, IdempotencyUnit, JobsUnit
from caredesk.services.engine.unit import EngineUnit
from caredesk.services.knowledge.unit import KnowledgeUnit
from caredesk.services.lifecycle.unit import EscalationUnit, LifecycleUnit, ProactiveUnit
from caredesk.services.privacy.unit import ErasureUnit
from caredesk.services.sla.unit import SlaUnit
from caredesk.services.unit_of_work import UnitOfWork

SERVICES = Path(__file__).resolve().parents[2] / "src" / "caredesk" / "services"

# Modules of the service layer that hold the whole unit of work, and why.
WHOLE_UNIT_HOLDERS = {
    # It defines it.
    "unit_of_work.py",
    # The event bus hands every handler the unit the command ran in.
    "core/messagebus.py",
    # A job handler of any feature gets the factory of whole units from the worker.
    "core/jobs.py",
    # The tools are an entry point to every feature, like the REST API.
    "channels/tools/registry.py",
}

MONEY = {"grants", "approvals", "ledger", "policies"}


def repositories(unit: type) -> set[str]:
    """The repositories a unit of work Protocol declares, its bases' included."""
    names: set[str] = set()
    for klass in unit.__mro__:
        if klass.__name__.startswith("Has"):
            names |= {name for name, value in vars(klass).items() if isinstance(value, property)}
    return names


def whole_unit_importers(root: Path = SERVICES) -> set[str]:
    found = set()
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom) and node.module == "caredesk.services.unit_of_work"
            ) or (
                isinstance(node, ast.Name)
                and node.id in {"UnitOfWork", "UnitOfWorkFactory"}
                and path.name != "unit_of_work.py"
            ):
                found.add(path.relative_to(root).as_posix())
    return found


def test_only_the_listed_modules_hold_the_whole_unit_of_work() -> None:
    assert whole_unit_importers() <= WHOLE_UNIT_HOLDERS


def test_the_check_sees_a_module_that_asks_for_the_whole_unit(tmp_path: Path) -> None:
    (tmp_path / "intake").mkdir()
    (tmp_path / "intake" / "mail.py").write_text(
        "from caredesk.services.unit_of_work import UnitOfWork\n"
        "def take_in(uow: UnitOfWork) -> None: ...\n"
    )
    (tmp_path / "intake" / "narrow.py").write_text(
        "from caredesk.services.channels.unit import MailIntakeUnit\n"
        "def take_in(uow: MailIntakeUnit) -> None: ...\n"
    )
    assert whole_unit_importers(tmp_path) == {"intake/mail.py"}


@pytest.mark.parametrize(
    "unit",
    [
        MailIntakeUnit,
        OutboundMailUnit,
        WebhooksUnit,
        AuditUnit,
        AccessUnit,
        CasesUnit,
        LifecycleUnit,
        SlaUnit,
        ErasureUnit,
        JobsUnit,
        IdempotencyUnit,
    ],
)
def test_features_that_do_not_grant_cannot_reach_money(unit: type) -> None:
    assert repositories(unit) & MONEY == set()


@pytest.mark.parametrize(
    "unit", [EngineUnit, EscalationUnit, ProactiveUnit, KnowledgeUnit, PortalUnit, ConsoleUnit]
)
def test_features_that_plan_or_grant_reach_the_grants(unit: type) -> None:
    assert "grants" in repositories(unit)


def test_the_whole_unit_of_work_holds_every_repository() -> None:
    declared = {
        name
        for path in SERVICES.glob("*/ports.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.name.startswith("Has")
        for item in node.body
        if isinstance(item, ast.FunctionDef)
        for name in [item.name]
    }
    assert len(declared) == 37
    assert repositories(UnitOfWork) == declared


def test_mail_intake_reaches_only_what_taking_in_mail_needs() -> None:
    assert repositories(MailIntakeUnit) == {
        "audit",
        "jobs",
        "webhooks",
        "agents",
        "teams",
        "customers",
        "products",
        "orders",
        "cases",
        "blobs",
        "lifecycle",
        "mail",
        "outbox",
        "formats",
    }
