"""`caredesk kb` and `caredesk triage`: the knowledge base's files, search and triage models,
and the two evaluation commands that measure them on labelled sets.

Evaluation prints a table and, with `--json`, ends with one JSON object on the last line of
stdout so scripts can read the figures; progress goes to stderr.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from caredesk.cli.common import desk, err, out, print_rows, run_on_desk
from caredesk.domain.agents import SYSTEM
from caredesk.domain.errors import DomainError
from caredesk.domain.evaluation import EvalDocument, EvalQuery
from caredesk.domain.search import SearchMode
from caredesk.settings import Settings

if TYPE_CHECKING:
    from caredesk.bootstrap import Container
    from caredesk.domain.triage import RoutingRule
    from caredesk.services.knowledge.evaluation import FusionComparison

R = TypeVar("R")
# What a search evaluation is judged on: the documents, the queries and each query's
# relevant documents by id.
_Judged = tuple[list[EvalDocument], list[EvalQuery], dict[str, dict[str, int]]]

kb_app = typer.Typer(help="The knowledge base: articles, search index, evaluation.")
kb_app.info.no_args_is_help = True
triage_app = typer.Typer(help="Triage: the intent model, labels, evaluation.")
triage_app.info.no_args_is_help = True
labels_app = typer.Typer(help="Labelled messages the intent model learns from.")
labels_app.info.no_args_is_help = True
triage_app.add_typer(labels_app, name="labels")


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    MARKDOWN = "markdown"


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error[/red]: {message}", markup=True, highlight=False)
    return typer.Exit(code)


class _Stages:
    """One progress bar per stage name, created when the stage first reports."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)


# kb import / export / embed


@kb_app.command("import")
def kb_import(
    path: Annotated[
        Path, typer.Argument(help="A folder of Markdown files with front matter, or a .jsonl file.")
    ],
) -> None:
    """Create or update articles (matched by slug). Exit 1 if any file or article is bad."""
    from caredesk.cli.article_files import ArticleFilesInvalid, read_path
    from caredesk.services.knowledge import knowledge

    try:
        records = read_path(path)
    except ArticleFilesInvalid as exc:
        for problem in exc.problems:
            err.print(f"[red]error[/red]: {problem}", highlight=False)
        err.print(f"nothing imported: fix the {len(exc.problems)} problem(s) above")
        raise typer.Exit(1) from exc
    with desk() as container, _progress() as progress:
        bar = progress.add_task("importing articles", total=len(records))

        def counted(items: Iterable[knowledge.ArticleRecord]) -> Iterator[knowledge.ArticleRecord]:
            for item in items:
                yield item
                progress.advance(bar)

        report = knowledge.import_articles(
            container.uow, SYSTEM, container.clock.now(), counted(records)
        )
        container.knowledge_changed()
    out.print(
        f"imported {len(records)} articles: {report.created} created, {report.updated} "
        f"updated, {report.unchanged} unchanged, {len(report.errors)} refused"
    )
    for problem in report.errors:
        err.print(f"[red]refused[/red] {problem}", highlight=False)
    if report.errors:
        raise typer.Exit(1)


@kb_app.command("export")
def kb_export(
    out_path: Annotated[
        Path, typer.Argument(metavar="OUT", help="A .jsonl file, or a folder for Markdown.")
    ],
    format: Annotated[
        ExportFormat, typer.Option("--format", help="jsonl (one file) or markdown (a folder).")
    ] = ExportFormat.JSONL,
) -> None:
    """Write every article and macro out; `caredesk kb import` reads the files back."""
    from caredesk.cli.article_files import write_jsonl, write_markdown
    from caredesk.services.knowledge import knowledge

    if format is ExportFormat.JSONL and out_path.is_dir():
        raise _fail(f"{out_path} is a folder; give a file name for --format jsonl", 2)
    if format is ExportFormat.MARKDOWN and out_path.exists() and not out_path.is_dir():
        raise _fail(f"{out_path} is a file; give a folder for --format markdown", 2)
    with desk() as container:
        articles = knowledge.export_articles(container.uow(), SYSTEM)
    with _progress() as progress:
        bar = progress.add_task("exporting articles", total=len(articles))

        def counted() -> Iterator[Any]:
            for article in articles:
                yield article
                progress.advance(bar)

        try:
            if format is ExportFormat.JSONL:
                count = write_jsonl(out_path, counted())
            else:
                count = write_markdown(out_path, counted())
        except OSError as exc:
            raise _fail(f"cannot write {out_path}: {exc.strerror or exc}") from exc
    out.print(f"wrote {count} articles to {out_path}")


@kb_app.command("embed")
def kb_embed() -> None:
    """Embed every article, macro and solved case changed since its last embedding."""
    from caredesk.services.knowledge import search

    with desk(models=True) as container:
        if container.semantic is None:
            raise _fail(container.semantic_error or "the embedding model did not load")
        with _progress() as progress:
            bar = progress.add_task("embedding", total=None)
            total = 0
            while done := search.embed_pending(
                container.uow, container.semantic.embedder, container.clock.now, max_batches=1
            ):
                total += done
                progress.update(bar, completed=total)
    out.print(f"embedded {total} texts")


# kb eval


@contextmanager
def _scratch_desk(*, semantic: bool) -> Iterator[Container]:
    """A desk on a throw-away SQLite database, migrated, with the configured model."""
    from caredesk.bootstrap import bootstrap, upgrade_database

    with tempfile.TemporaryDirectory(prefix="caredesk-eval-") as tmp:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/eval.db",
            semantic_search=semantic,
            embed_in_background=False,
        )
        container = bootstrap(settings)
        try:
            upgrade_database(container)
            yield container
        finally:
            container.close()


def _measured(model_for: str | None, measure: Callable[[Container, _Stages], R]) -> R:
    """A measurement on a scratch desk, with a progress bar per stage; `model_for` names what
    needs the embedding model, refused at once when it did not load."""
    with _scratch_desk(semantic=model_for is not None) as container:
        if model_for is not None and container.semantic is None:
            raise _fail(f"{model_for} needs the embedding model: {container.semantic_error}")
        with _progress() as progress:
            return measure(container, _Stages(progress))


def _print_json(figures: dict[str, Any]) -> None:
    # Plain print, not rich: the last line must be exactly one JSON object.
    print(json.dumps(figures), flush=True)


@kb_app.command("eval")
def kb_eval(
    docs: Annotated[Path, typer.Option(help="JSONL, one {id, title, text|content} a line.")],
    queries: Annotated[Path, typer.Option(help="JSONL, one {id, text} a line.")],
    qrels: Annotated[Path, typer.Option(help="TSV with a header: query id, doc id, relevance.")],
    mode: Annotated[SearchMode, typer.Option(help="lexical, semantic or hybrid.")] = (
        SearchMode.HYBRID
    ),
    as_json: Annotated[
        bool, typer.Option("--json", help="End with the figures as one JSON line.")
    ] = False,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Embed once and measure lexical, semantic and hybrid, choosing hybrid's "
            "lexical weight on half of the queries (--mode is ignored).",
        ),
    ] = False,
) -> None:
    """Index the documents in a scratch desk and measure its search on the queries."""
    from caredesk.cli.eval_files import read_documents, read_qrels, read_queries
    from caredesk.services.knowledge.evaluation import evaluate_retrieval

    try:
        judged = (read_documents(docs), read_queries(queries), read_qrels(qrels))
        if compare:
            _compare_fusion(judged, as_json)
            return
        result = _measured(
            None if mode is SearchMode.LEXICAL else f"{mode.value} search",
            lambda container, stages: evaluate_retrieval(
                container.uow, container.semantic, container.clock.now, *judged, mode, stages
            ),
        )
    except DomainError as exc:
        raise _fail(exc.message) from exc
    figures = [(name, f"{value:.4f}") for name, value in result.scores.as_dict().items()]
    figures += [
        ("index time (s)", f"{result.index_seconds:.2f}"),
        ("queries per second", f"{result.queries_per_second:.1f}"),
    ]
    _print_figures(
        f"Search evaluation ({mode.value})",
        figures,
        f"{result.documents} documents, {result.queries} queries "
        f"({result.scores.queries} with relevant documents), ranked {result.depth} deep",
        result.as_dict() if as_json else None,
    )


def _print_figures(
    title: str, figures: list[tuple[str, str]], summary: str, as_json: dict[str, Any] | None
) -> None:
    """A measurement's table of figures and its one-line summary, then its JSON if asked."""
    table = Table("figure", "value", title=title)
    for name, value in figures:
        table.add_row(name, value)
    out.print(table)
    out.print(summary)
    if as_json is not None:
        _print_json(as_json)


def _compare_fusion(judged: _Judged, as_json: bool) -> None:
    from caredesk.services.knowledge.evaluation import compare_fusion

    def fuse(container: Container, stages: _Stages) -> FusionComparison:
        assert container.semantic is not None  # _measured refuses a desk without the model
        return compare_fusion(
            container.uow, container.semantic, container.clock.now, *judged, stages
        )

    result = _measured("--compare", fuse)
    for title, part in (
        (f"held-out half ({result.queries - result.dev_queries} queries)", result.test),
        ("every query", result.every_query),
    ):
        table = Table(
            "mode", "hit@1", "recall@5", "recall@10", "MRR@10", "nDCG@10", "MAP", title=title
        )
        for mode, scores in part.items():
            table.add_row(mode, *(f"{v:.4f}" for v in scores.as_dict().values()))
        out.print(table)
    out.print(
        f"lexical weight {result.weight} chosen on {result.dev_queries} queries "
        f"(configured: {result.configured_weight}); {result.documents} documents"
    )
    if as_json:
        _print_json(result.as_dict())


# triage train / models / labels / eval


@triage_app.command("train")
def triage_train(
    seed: Annotated[int, typer.Option(help="Seed for the training run.")] = 0,
    if_new_labels: Annotated[
        bool, typer.Option("--if-new-labels", help="Skip when nothing was labelled since.")
    ] = False,
) -> None:
    """Train a new intent model version on the desk's labelled cases and put it in force."""
    from caredesk.services.knowledge import triage

    with desk(models=True) as container:
        if container.triage is None or container.triage.intents is None:
            reason = container.triage.unavailable_reason if container.triage else None
            raise _fail(reason or "the embedding model did not load")
        with _progress() as progress:
            progress.add_task("training the intent model", total=None)
            info = triage.train_intent_model(
                container.uow,
                container.triage.intents.trainer,
                SYSTEM,
                container.clock.now(),
                seed=seed,
                only_if_new_labels=if_new_labels,
            )
    if info is None:
        out.print("no new labels since the model in force; nothing trained")
        return
    seconds = info.metrics.get("train_seconds", 0)
    out.print(
        f"intent model version {info.version} ({info.method}) is in force: {info.examples} "
        f"examples, {len(info.labels)} intents, trained in {seconds} s"
    )


@triage_app.command("models")
def triage_models() -> None:
    """List the intent model versions, the one in force marked."""
    from caredesk.services.knowledge import triage

    with desk() as container:
        models = triage.list_models(container.uow(), SYSTEM)
    if not models:
        out.print("no intent model yet: label cases, then run `caredesk triage train`")
        return
    table = Table("version", "in force", "method", "examples", "intents", "trained at")
    for info in models:
        table.add_row(
            str(info.version),
            "yes" if info.active else "",
            info.method,
            str(info.examples),
            str(len(info.labels)),
            info.trained_at.isoformat(timespec="seconds"),
        )
    out.print(table)


@triage_app.command("activate")
def triage_activate(version: Annotated[int, typer.Argument(help="The model version.")]) -> None:
    """Put an earlier (or later) intent model version back in force."""
    from caredesk.services.knowledge import triage

    run_on_desk(triage.activate_model, version)
    out.print(f"intent model version {version} is in force")


@labels_app.command("import")
def labels_import(
    path: Annotated[Path, typer.Argument(help="CSV with a header text,category.")],
) -> None:
    """Add labelled messages for the intent model (all or nothing)."""
    from caredesk.cli.eval_files import read_labelled_csv
    from caredesk.services.knowledge import triage

    try:
        examples = read_labelled_csv(path)
    except DomainError as exc:
        raise _fail(exc.message) from exc
    count = run_on_desk(
        triage.add_labels,
        [(e.text, e.label) for e in examples],
    )
    out.print(f"added {count} labelled messages; run `caredesk triage train` to learn them")


@triage_app.command("eval")
def triage_eval(
    train: Annotated[Path, typer.Option(help="CSV with a header text,category.")],
    test: Annotated[Path, typer.Option(help="CSV with a header text,category.")],
    shots: Annotated[
        int | None, typer.Option(min=1, help="Train on N examples per category only.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampling and training.")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="End with the figures as one JSON line.")
    ] = False,
) -> None:
    """Train an intent model on one CSV and measure it on another."""
    from caredesk.bootstrap.models import intent_trainer
    from caredesk.cli.eval_files import read_labelled_csv
    from caredesk.services.knowledge.evaluation import evaluate_intents

    try:
        train_set = read_labelled_csv(train)
        test_set = read_labelled_csv(test)
        # Check the files before loading the model: a bad file should fail in a second.
        missing = sorted({e.label for e in test_set} - {e.label for e in train_set})
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5])
            raise _fail(f"{test} has {len(missing)} categories that {train} lacks: {shown}")
        trainer = intent_trainer(Settings())
        with _progress() as progress:
            progress.add_task("training and predicting", total=None)
            result = evaluate_intents(trainer, train_set, test_set, shots=shots, seed=seed)
    except DomainError as exc:
        raise _fail(exc.message) from exc
    _print_figures(
        "Intent evaluation",
        [
            ("accuracy", f"{result.scores.accuracy:.4f}"),
            ("macro-F1", f"{result.scores.macro_f1:.4f}"),
            ("training seconds", f"{result.train_seconds:.1f}"),
            ("predictions per second", f"{result.predictions_per_second:.0f}"),
            ("training CPU seconds", f"{result.train_cpu_seconds:.1f}"),
            ("predictions per CPU second", f"{result.predictions_per_cpu_second:.0f}"),
        ],
        f"{result.train_examples} training examples in {result.intents} categories "
        f"({result.method}, {result.epochs} epochs), {result.scores.examples} test examples",
        result.as_dict() if as_json else None,
    )


# triage rules


rules_app = typer.Typer(help="Routing rules: where triaged cases go, evaluated in order.")
rules_app.info.no_args_is_help = True
triage_app.add_typer(rules_app, name="rules")


@rules_app.command("list")
def rules_list() -> None:
    """Print the routing rules in the order they are evaluated."""
    from caredesk.services.knowledge import triage

    with desk() as container:
        rules = triage.list_rules(container.uow(), SYSTEM)
    # One line per rule, so long conditions stay readable and greppable.
    print_rows(map(_rule_cells, rules), soft_wrap=True, plain=True, empty="no routing rules")


def _rule_cells(rule: RoutingRule) -> list[object]:
    spec = rule.spec
    flags = [f for f, on in (("stop", spec.stop), ("disabled", not spec.enabled)) if on]
    when = json.dumps(spec.when.model_dump(mode="json", exclude_none=True))
    then = json.dumps(spec.then.model_dump(mode="json", exclude_none=True))
    cells: list[object] = [rule.id, rule.position, spec.name, f"when {when}", f"then {then}"]
    if flags:
        cells.append(" ".join(flags))
    return cells


@rules_app.command("add")
def rules_add(
    path: Annotated[Path, typer.Argument(help="A YAML or JSON file with one rule.")],
    position: Annotated[
        int | None, typer.Option(help="Where it goes (default: after the last rule).")
    ] = None,
) -> None:
    """Add a routing rule (audited): `name`, `when`, `then`, optional `stop` and `enabled`."""
    import yaml
    from pydantic import ValidationError

    from caredesk.domain.triage import RoutingRuleSpec
    from caredesk.services.knowledge import triage

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = RoutingRuleSpec.model_validate(data)
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise _fail(f"{path} is not valid YAML or JSON: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'rule'}: {e['msg']}" for e in exc.errors()
        )
        raise _fail(f"{path}: {problems}") from exc
    rule = run_on_desk(triage.create_rule, spec, position)
    out.print(f"routing rule {rule.id} ({spec.name}) added at position {rule.position}")


@rules_app.command("delete")
def rules_delete(rule_id: Annotated[int, typer.Argument(help="The rule's id.")]) -> None:
    """Delete a routing rule (audited)."""
    from caredesk.services.knowledge import triage

    run_on_desk(triage.delete_rule, rule_id)
    out.print(f"routing rule {rule_id} deleted")
