"""The design's rules that import-linter's contracts (pyproject.toml) cannot state alone.

One door: import-linter keeps repositories and the follow-on modules out of web, cli and the
mail adapters. What it cannot see is a call: these checks read the entry points' code for a
unit of work opened by hand, a repository reached through it, or a follow-on step (SLA
clocks, search index, triage, mail, audit) called directly.

A pure domain: of the packages outside the standard library it imports pydantic alone, an
allow-list a contract's list of forbidden packages could not keep. And no part of caredesk
is outside the contracts: each top-level module is named in one.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "caredesk"
ENTRY_POINTS = [SRC / "web", SRC / "cli", SRC / "adapters" / "mail"]
# The steps that follow a change: each runs from an event handler, inside the change's own
# transaction, and is never an entry point's business.
FOLLOW_ON = {
    "sync_case",
    "index_case",
    "queue_case_reply",
    "triage_case_in",
    "after_outbound",
    "record_event",
    "emit",
}


def _entry_point_files() -> list[Path]:
    return sorted(p for folder in ENTRY_POINTS for p in folder.rglob("*.py"))


def _violations(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.withitem) and "uow" in ast.unparse(node.context_expr):
            found.append(f"line {node.context_expr.lineno}: opens a unit of work by hand")
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if isinstance(node.func, ast.Name):
                name = node.func.id
            if name in FOLLOW_ON:
                found.append(f"line {node.lineno}: calls the follow-on step {name}()")
    return found


def test_there_are_entry_points_to_check() -> None:
    assert len(_entry_point_files()) > 20


@pytest.mark.parametrize("path", _entry_point_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_an_entry_point_only_calls_commands(path: Path) -> None:
    assert _violations(ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    "code",
    [
        "with container.uow() as uow:\n    uow.cases.get(1)\n",
        "sla.sync_case(uow, case, now, before_status=status)\n",
        "search.index_case(uow, case, now)\n",
    ],
)
def test_the_check_sees_a_door_opened_by_hand(code: str) -> None:
    assert _violations(ast.parse(code))


# --- the domain imports the standard library and pydantic only ---------------------------------

DOMAIN_MAY_IMPORT = frozenset({"pydantic"})


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """Every absolute import, wherever it stands (a function, a TYPE_CHECKING block)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _beyond_the_domain(tree: ast.AST) -> list[str]:
    found = []
    for line, module in _imported(tree):
        top = module.partition(".")[0]
        if top == "caredesk":
            allowed = module == "caredesk.domain" or module.startswith("caredesk.domain.")
        else:
            allowed = top in sys.stdlib_module_names or top in DOMAIN_MAY_IMPORT
        if not allowed:
            found.append(f"line {line}: imports {module}")
    return found


def _domain_files() -> list[Path]:
    return sorted((SRC / "domain").rglob("*.py"))


def test_there_is_a_domain_to_check() -> None:
    assert len(_domain_files()) > 20


@pytest.mark.parametrize("path", _domain_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_the_domain_imports_the_standard_library_and_pydantic_only(path: Path) -> None:
    assert _beyond_the_domain(ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    "code",
    [
        "import yaml\n",
        "from markdown_it import MarkdownIt\n",
        "def clean(html):\n    import nh3\n    return nh3.clean(html)\n",
        "from caredesk.settings import Settings\n",
    ],
)
def test_the_check_sees_the_domain_import_a_package(code: str) -> None:
    assert _beyond_the_domain(ast.parse(code))


def test_the_check_lets_the_domain_use_what_it_may() -> None:
    code = (
        "import re\nfrom decimal import Decimal\nfrom pydantic import BaseModel\n"
        "from caredesk.domain.money import format_money\n"
    )
    assert _beyond_the_domain(ast.parse(code)) == []


# --- every part of caredesk is in a contract ---------------------------------------------------


def _top_level_modules() -> list[str]:
    modules = []
    for entry in SRC.iterdir():
        if entry.is_dir() and (entry / "__init__.py").is_file():
            modules.append(f"caredesk.{entry.name}")
        elif entry.suffix == ".py" and entry.name != "__init__.py":
            modules.append(f"caredesk.{entry.stem}")
    return sorted(modules)


def _named_in_contracts() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    named: set[str] = set()
    for contract in config["tool"]["importlinter"]["contracts"]:
        for key, value in contract.items():
            if key != "name":
                # Layers may join modules (`a | b`); every caredesk name in a value counts.
                named.update(re.findall(r"caredesk(?:\.\w+)*", str(value)))
    return named


def test_there_are_top_level_modules_to_check() -> None:
    assert {"caredesk.domain", "caredesk.settings"} <= set(_top_level_modules())


@pytest.mark.parametrize("module", _top_level_modules())
def test_every_top_level_module_is_named_in_a_contract(module: str) -> None:
    assert module in _named_in_contracts(), f"{module} is in no import-linter contract"


PACKAGES = sorted(
    path
    for path in SRC.rglob("__init__.py")
    if "migrations" not in path.parts and "__pycache__" not in path.parts
)


@pytest.mark.parametrize("path", PACKAGES, ids=lambda p: str(p.parent.relative_to(SRC.parent)))
def test_every_package_opens_with_a_line_on_what_it_is(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    assert docstring, f"{path.parent.name}/__init__.py says nothing about what the package is"
    assert len(docstring.splitlines()[0]) <= 100


# A module a newcomer can read in one sitting, a function that fits on a screen.
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60


def too_long(path: Path) -> list[str]:
    text = path.read_text()
    found = []
    if text.count("\n") > MAX_MODULE_LINES:
        found.append(f"{path.name} has {text.count(chr(10))} lines")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{path.name}:{node.lineno} {node.name} has {length} lines")
    return found


MODULES = sorted(
    path
    for path in SRC.rglob("*.py")
    if "migrations" not in path.parts and "__pycache__" not in path.parts
)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC.parent)))
def test_modules_and_functions_stay_short(path: Path) -> None:
    # Migrations are history, generated once and never edited: they are left out.
    assert too_long(path) == []


def test_the_check_sees_a_long_module_and_a_long_function(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(61))
    source = tmp_path / "long.py"
    source.write_text("def long() -> None:\n" + body + "\n" * 600)
    assert too_long(source) == ["long.py has 662 lines", "long.py:1 long has 62 lines"]
