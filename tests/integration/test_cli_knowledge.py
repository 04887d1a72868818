"""`caredesk kb` and `caredesk triage`: files in and out, the two evaluation commands, and
clear refusals of bad files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from caredesk.bootstrap import Container
from caredesk.cli.main import app
from caredesk.domain.agents import SYSTEM
from caredesk.domain.knowledge import ArticleStatus, Visibility
from caredesk.services.access import auth
from caredesk.services.knowledge import knowledge

DATA = Path(__file__).parent.parent / "data" / "knowledge"
EVAL_ARGS = [
    "--docs",
    str(DATA / "docs.jsonl"),
    "--queries",
    str(DATA / "queries.jsonl"),
    "--qrels",
    str(DATA / "qrels.tsv"),
]
RETRIEVAL_KEYS = {
    "recall@5",
    "recall@10",
    "MRR@10",
    "nDCG@10",
    "MAP",
    "index_seconds",
    "queries_per_second",
}
INTENT_KEYS = {"accuracy", "macro_f1", "train_seconds", "predictions_per_second"}


def _last_json(output: str) -> dict[str, float]:
    figures = json.loads(output.strip().splitlines()[-1])
    assert isinstance(figures, dict)
    return figures


@pytest.fixture
def lexical_desk(container: Container, monkeypatch: pytest.MonkeyPatch) -> Container:
    """The CLI on the test database, without loading the embedding model."""
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    return container


def test_import_a_markdown_folder_then_export_and_import_it_again(
    lexical_desk: Container, tmp_path: Path
) -> None:
    runner = CliRunner()
    imported = runner.invoke(app, ["kb", "import", str(DATA / "articles")])
    assert imported.exit_code == 0, imported.output
    assert "2 created" in imported.output
    articles = {a.slug: a for a in knowledge.export_articles(lexical_desk.uow(), SYSTEM)}
    printer = articles["label-printer-os-upgrade"]
    assert printer.tags == ["known-issue", "printer"]
    assert printer.product_ids == ["lp-200"]
    assert printer.is_public
    assert "<script" not in printer.body_html
    # The title came from the heading, which is not repeated in the body.
    refunds = articles["refunds-within-30-days"]
    assert refunds.title == "Refunds within 30 days"
    assert not refunds.body.startswith("#")

    exported = runner.invoke(app, ["kb", "export", "--format", "markdown", str(tmp_path / "md")])
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in (tmp_path / "md").iterdir()) == [
        "label-printer-os-upgrade.md",
        "refunds-within-30-days.md",
    ]
    jsonl = tmp_path / "articles.jsonl"
    assert runner.invoke(app, ["kb", "export", str(jsonl)]).exit_code == 0
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert {line["slug"] for line in lines} == set(articles)

    for again in (tmp_path / "md", jsonl):
        result = runner.invoke(app, ["kb", "import", str(again)])
        assert result.exit_code == 0, result.output
        assert "2 unchanged" in result.output


def test_a_bad_markdown_file_is_named_and_nothing_is_imported(
    lexical_desk: Container, tmp_path: Path
) -> None:
    (tmp_path / "good.md").write_text("# Fine\n\nbody\n")
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    (tmp_path / "untitled.md").write_text("no title anywhere\n")
    result = CliRunner().invoke(app, ["kb", "import", str(tmp_path)])
    assert result.exit_code == 1
    assert "broken.md" in result.output and "not valid YAML" in result.output
    assert "untitled.md" in result.output and "no title" in result.output
    assert "Traceback" not in result.output
    assert knowledge.export_articles(lexical_desk.uow(), SYSTEM) == []


def test_a_bad_jsonl_line_is_named(lexical_desk: Container, tmp_path: Path) -> None:
    path = tmp_path / "articles.jsonl"
    path.write_text('{"title": "ok", "body": "fine"}\n{not json}\n')
    result = CliRunner().invoke(app, ["kb", "import", str(path)])
    assert result.exit_code == 1
    assert "articles.jsonl:2" in result.output


def test_an_imported_macro_that_does_not_work_is_refused_with_its_line(
    lexical_desk: Container, tmp_path: Path
) -> None:
    path = tmp_path / "macros.jsonl"
    good = {"title": "Hello", "kind": "macro", "body": "Hi {{ first_name }}"}
    bad = {"title": "Broken", "kind": "macro", "body": "Hi {{ first_name }},\n{{ config }}"}
    path.write_text(f"{json.dumps(good)}\n{json.dumps(bad)}\n")
    result = CliRunner().invoke(app, ["kb", "import", str(path)])
    assert result.exit_code == 1
    assert "1 created" in result.output and "1 refused" in result.output
    assert "macros.jsonl:2" in result.output
    assert "line 2" in result.output and "unknown variable 'config'" in result.output
    assert "Traceback" not in result.output
    assert [a.title for a in knowledge.export_articles(lexical_desk.uow(), SYSTEM)] == ["Hello"]


def test_the_command_line_creates_an_editor_who_publishes(
    lexical_desk: Container, tmp_path: Path
) -> None:
    runner = CliRunner()
    who = ["--email", "eve@example.com", "--name", "Eve", "--role", "editor"]
    created = runner.invoke(app, ["agents", "create", *who, "--password", "long-enough-pw"])
    assert created.exit_code == 0, created.output
    assert "(editor) created" in created.output
    eve = auth.find_agent(lexical_desk.uow(), SYSTEM, "eve@example.com")
    article = knowledge.create_article(
        lexical_desk.uow(), eve.actor(), lexical_desk.clock.now(), title="Returns",
        body="Thirty days.", visibility=Visibility.PUBLIC, status=ArticleStatus.PUBLISHED,
    )  # fmt: skip
    assert article.is_live


def test_kb_eval_lexical_prints_the_figures_last_as_json() -> None:
    result = CliRunner().invoke(app, ["kb", "eval", *EVAL_ARGS, "--mode", "lexical", "--json"])
    assert result.exit_code == 0, result.output
    figures = _last_json(result.stdout)
    assert set(figures) >= RETRIEVAL_KEYS
    for key in ("recall@5", "recall@10", "MRR@10", "nDCG@10", "MAP"):
        assert 0.0 <= figures[key] <= 1.0
    # Three of the four queries share telling words with their one relevant document.
    assert figures["MRR@10"] >= 0.75
    assert "recall@10" in result.stdout.split("{")[0]


def test_kb_eval_hybrid_finds_paraphrases() -> None:
    result = CliRunner().invoke(app, ["kb", "eval", *EVAL_ARGS, "--json"])
    assert result.exit_code == 0, result.output
    figures = _last_json(result.stdout)
    assert figures["recall@5"] == pytest.approx(1.0)


@pytest.mark.semantic
def test_kb_eval_compare_measures_the_three_modes_on_one_index() -> None:
    result = CliRunner().invoke(app, ["kb", "eval", *EVAL_ARGS, "--compare", "--json"])
    assert result.exit_code == 0, result.output
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert 0.0 <= figures["weight"] <= 1.0
    every = figures["all"]
    assert set(every) == {"lexical", "semantic", "hybrid", "hybrid@configured"}
    for key in ("hit@1", "recall@5", "MRR@10", "nDCG@10", "MAP"):
        assert 0.0 <= every["hybrid"][key] <= 1.0
    assert "every query" in result.stdout


def test_kb_eval_refuses_labels_for_unknown_documents(tmp_path: Path) -> None:
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query\tdoc\trel\nq1\tnot-a-doc\t1\n")
    args = ["kb", "eval", *EVAL_ARGS[:4], "--qrels", str(qrels), "--mode", "lexical"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "not-a-doc" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_kb_eval_names_a_broken_line(tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"id": "a", "title": "t", "text": "x"}\n{"id": "b", "title": "no text"}\n')
    args = ["kb", "eval", "--docs", str(docs), *EVAL_ARGS[2:], "--mode", "lexical"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "docs.jsonl:2" in result.output


def test_triage_eval_trains_on_a_few_shots_and_reports_json() -> None:
    result = CliRunner().invoke(
        app,
        [
            "triage",
            "eval",
            "--train",
            str(DATA / "intents_train.csv"),
            "--test",
            str(DATA / "intents_test.csv"),
            "--shots",
            "2",
            "--seed",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = _last_json(result.stdout)
    assert set(figures) >= INTENT_KEYS
    assert figures["train_examples"] == 6
    # Three intents: a model no better than chance would score about a third.
    assert figures["accuracy"] >= 2 / 3
    assert 0.0 <= figures["macro_f1"] <= 1.0
    assert figures["predictions_per_second"] > 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("message,category\nhello,delivery\n", "no column text"),
        ("text,category\nWhere is it,teleportation\n", "teleportation"),
        ("", "is empty"),
        ("text,category\n", "no examples"),
    ],
)
def test_triage_eval_refuses_bad_test_files(tmp_path: Path, content: str, message: str) -> None:
    test = tmp_path / "test.csv"
    test.write_text(content)
    result = CliRunner().invoke(
        app, ["triage", "eval", "--train", str(DATA / "intents_train.csv"), "--test", str(test)]
    )
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_triage_train_learns_the_desks_labels(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    runner = CliRunner()
    none_yet = runner.invoke(app, ["triage", "train"])
    assert none_yet.exit_code == 1
    assert "at least two intents" in none_yet.output
    labels = runner.invoke(app, ["triage", "labels", "import", str(DATA / "intents_train.csv")])
    assert labels.exit_code == 0, labels.output
    assert "added 12" in labels.output
    trained = runner.invoke(app, ["triage", "train"])
    assert trained.exit_code == 0, trained.output
    assert "version 1" in trained.output
    skipped = runner.invoke(app, ["triage", "train", "--if-new-labels"])
    assert "nothing trained" in skipped.output
    models = runner.invoke(app, ["triage", "models"])
    assert models.exit_code == 0
    assert "yes" in models.output


def test_routing_rules_from_the_command_line(lexical_desk: Container, tmp_path: Path) -> None:
    runner = CliRunner()
    rule = tmp_path / "rule.yaml"
    rule.write_text(
        "name: Angry customers first\n"
        "when: {sentiment_at_most: -0.5}\n"
        "then: {priority: high, tags: [angry]}\n"
    )
    added = runner.invoke(app, ["triage", "rules", "add", str(rule)])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["triage", "rules", "list"])
    assert "Angry customers first" in listed.output
    rule_id = added.output.split("routing rule ")[1].split()[0]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: No then\nwhen: {}\n")
    refused = runner.invoke(app, ["triage", "rules", "add", str(bad)])
    assert refused.exit_code == 1
    assert "then" in refused.output
    deleted = runner.invoke(app, ["triage", "rules", "delete", rule_id])
    assert deleted.exit_code == 0, deleted.output
    assert "no routing rules" in runner.invoke(app, ["triage", "rules", "list"]).output
