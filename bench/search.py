"""Benchmark hybrid search over 100,000 articles and cases, on SQLite and PostgreSQL.

For each backend: a fresh migrated database; the texts (a fifth articles and macros, the
rest solved cases, written from a Zipf-weighted customer-service vocabulary) indexed through
the search repository in transactions of 1,000 (the path every article save and solved case
takes), which times indexing; then the real embedding model embeds a sample the way the
desk does (`embed_pending`), timed against the model alone on the same passages, and the
other texts get copies of the sample's vectors with a little noise, so the in-memory vector
index holds one vector per text as in production. Queries then run one at a time through
`services.search.search` in a read-only unit of work, as `GET /api/v1/search` calls it, in
each mode, and the script prints p50/p99 latency and queries per second.

    python bench/search.py [--backend sqlite|postgresql ...] [--texts N] [--embed N]
                           [--queries N] [--write-docs]
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from rich.console import Console
from sqlalchemy import bindparam, update

from _common import (
    PG_DEFAULT,
    Conditions,
    add_run_arguments,
    database,
    percentile,
    pg_answers,
    write_section,
)
from caredesk.adapters.db import models as m
from caredesk.adapters.db.engine import build_engine
from caredesk.adapters.db.migrate import upgrade
from caredesk.adapters.db.uow import SqlAlchemyUnitOfWorkFactory
from caredesk.adapters.embeddings import MODEL_NAME, set_model_threads
from caredesk.adapters.onnx_encoder import OnnxSentenceEmbedder, shared_encoder
from caredesk.adapters.vector_index import InMemoryVectorIndex, load_faiss
from caredesk.domain.agents import SYSTEM
from caredesk.domain.search import LEXICAL_CANDIDATES, IndexedText, SearchKind, SearchMode, passages
from caredesk.services.knowledge import search
from caredesk.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
console = Console(stderr=True)
BATCH = 1000

VOCABULARY_TEXT = (
    "order delivery parcel refund return label printer card payment charge account password "
    "address shipping tracking courier late damaged broken missing wrong size colour exchange "
    "warranty replacement invoice receipt discount coupon gift subscription cancel upgrade "
    "battery screen charger cable app update login email phone store credit balance fee "
    "delay week today yesterday box item product model driver software error message code "
    "customer support help please thanks again still never arrived received opened used "
    "unused new old small large blue black white kitchen garden shoes jacket dress lamp "
    "chair table sofa bed pillow blanket mug kettle toaster blender vacuum fridge oven "
    "camera headphones speaker watch ring necklace wallet bag suitcase stroller crib baby "
    "wedding birthday moving holiday christmas weekend morning evening urgent review angry "
    "disappointed happy satisfied loyal member gold silver premium basic plan annual monthly"
)
VOCABULARY = VOCABULARY_TEXT.split()


def zipf_words(rng: random.Random, count: int) -> list[str]:
    # Word k (from 1) is drawn with weight 1/k: a few common words, a long tail of rare ones.
    return rng.choices(VOCABULARY, weights=WEIGHTS, k=count)


WEIGHTS = [1 / (k + 1) for k in range(len(VOCABULARY))]


def make_text(rng: random.Random, number: int) -> IndexedText:
    article = number % 5 == 0
    kind = SearchKind.ARTICLE if article else SearchKind.CASE
    if article and number % 25 == 0:
        kind = SearchKind.MACRO
    title = " ".join(zipf_words(rng, rng.randint(3, 8))).capitalize()
    body = " ".join(zipf_words(rng, rng.randint(40, 160) if article else rng.randint(20, 90)))
    return IndexedText(
        kind=kind, ref_id=str(number), title=title, body=body, public=article and number % 2 == 0
    )


@dataclass
class Mode:
    name: str
    latencies_ms: list[float]
    seconds: float
    empty: int


@dataclass
class Run:
    backend: str
    texts: int
    index_seconds: float
    embedded: int
    embed_seconds: float
    model_seconds: float
    vector_load_seconds: float
    modes: list[Mode]


def index_texts(factory: SqlAlchemyUnitOfWorkFactory, count: int, seed: int) -> float:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        with factory() as uow:
            for number in range(start, min(count, start + BATCH)):
                uow.search.upsert(make_text(rng, number), now)
            uow.commit()
        if (start // BATCH) % 10 == 9:
            done = min(count, start + BATCH)
            rate = done / (time.perf_counter() - started)
            console.print(f"  indexed {done:,} texts ({rate:,.0f}/s)")
    return time.perf_counter() - started


def desk_encoder() -> search.Embedder:
    """The encoder the desk runs by its settings: ONNX Runtime where `caredesk models prepare`
    wrote the file (as make bench does first), torch otherwise."""
    settings = Settings()
    return shared_encoder(
        settings.embedding_model_path,
        settings.model_dir,
        settings.model_runtime,
        settings.model_threads,
    )


def passes(sample: int) -> tuple[int, int]:
    """Texts per pass and passes for about `sample` texts, as the desk batches them."""
    batch = min(sample, search.EMBED_BATCH)
    return batch, -(-sample // batch)


def model_alone(factory: SqlAlchemyUnitOfWorkFactory, sample: int) -> tuple[int, float]:
    """The texts the desk will embed next, and the seconds the model alone takes over their
    passages in one call (sorted by length across all of them, no database)."""
    batch, count = passes(sample)
    with factory.read_only() as uow:
        texts = uow.search.pending(batch * count)
    chunks = [passage for t in texts for passage in passages(t.title, t.body)]
    embedder = desk_encoder()
    embedder.embed(chunks[:8])  # the first call of a process sets the model up
    started = time.perf_counter()
    embedder.embed(chunks)
    return len(texts), time.perf_counter() - started


def embed_sample(factory: SqlAlchemyUnitOfWorkFactory, sample: int) -> tuple[int, float]:
    embedder = desk_encoder()
    batch, count = passes(sample)
    started = time.perf_counter()
    done = search.embed_pending(
        factory, embedder, lambda: datetime.now(UTC), batch=batch, max_batches=count
    )
    return done, time.perf_counter() - started


def fill_vectors(factory: SqlAlchemyUnitOfWorkFactory, seed: int) -> None:
    """Give every text not embedded yet a noisy copy of a real vector (a stand-in)."""
    rng = np.random.default_rng(seed)
    with factory() as uow:
        session = uow.session  # type: ignore[attr-defined]
        stored = [
            np.frombuffer(blob, dtype=np.float32).reshape(-1, 384)
            for (blob,) in session.execute(
                m.SearchEntryRow.__table__.select()
                .with_only_columns(m.SearchEntryRow.embedding)
                .where(m.SearchEntryRow.embedding.is_not(None))
            )
        ]
        ids = [
            row_id
            for (row_id,) in session.execute(
                m.SearchEntryRow.__table__.select()
                .with_only_columns(m.SearchEntryRow.id)
                .where(m.SearchEntryRow.embedding.is_(None))
            )
        ]
    now = datetime.now(UTC)
    statement = (
        update(m.SearchEntryRow.__table__)
        .where(m.SearchEntryRow.__table__.c.id == bindparam("row_id"))
        .values(
            embedding=bindparam("vectors"),
            embedding_model=MODEL_NAME,
            embedded_at=now,
            needs_embedding=False,
        )
    )
    for start in range(0, len(ids), 5000):
        rows = []
        for row_id in ids[start : start + 5000]:
            base = stored[int(rng.integers(len(stored)))]
            noisy = base + rng.normal(0, 0.05, base.shape).astype(np.float32)
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            rows.append({"row_id": row_id, "vectors": noisy.astype(np.float32).tobytes()})
        with factory() as uow:
            uow.session.execute(statement, rows)  # type: ignore[attr-defined]
            uow.commit()


def run_queries(
    factory: SqlAlchemyUnitOfWorkFactory,
    semantic: search.Semantic,
    mode: SearchMode,
    queries: list[str],
) -> Mode:
    latencies, empty = [], 0
    started = time.perf_counter()
    for query in queries:
        began = time.perf_counter()
        result = search.search(
            factory.read_only(), SYSTEM, query, limit=10, mode=mode, semantic=semantic
        )
        latencies.append((time.perf_counter() - began) * 1000)
        empty += not result.hits
    return Mode(mode.value, latencies, time.perf_counter() - started, empty)


def run(backend: str, args: argparse.Namespace) -> Run:
    with database(backend, args.pg_url) as url:
        engine = build_engine(url)
        try:
            upgrade(engine)
            factory = SqlAlchemyUnitOfWorkFactory(engine)
            console.print(f"[bold]{backend}[/bold]: indexing {args.texts:,} texts")
            index_seconds = index_texts(factory, args.texts, args.seed)
            console.print(f"{backend}: embedding {args.embed:,} texts with the model")
            model_texts, model_seconds = model_alone(factory, args.embed)
            embedded, embed_seconds = embed_sample(factory, args.embed)
            assert model_texts == embedded, "the model alone embedded other texts"
            fill_vectors(factory, args.seed)
            if backend == "postgresql":
                # The fill rewrote every row: autovacuum would tidy and analyse them soon.
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM ANALYZE search_entries")
            embedder = desk_encoder()
            # The index the desk builds from its settings (CAREDESK_VECTOR_SEARCH).
            settings = Settings()
            faiss = None
            if settings.vector_search != "exact":
                faiss = load_faiss(settings.vector_search_threads)
            index = InMemoryVectorIndex(
                embedder.dimensions, faiss=faiss, search=settings.vector_search
            )
            semantic = search.Semantic(embedder, index)
            began = time.perf_counter()
            with factory() as uow:
                semantic.index.refresh(uow.search)
            vector_load = time.perf_counter() - began
            rng = random.Random(args.seed + 1)
            queries = [" ".join(zipf_words(rng, rng.randint(2, 6))) for _ in range(args.queries)]
            run_queries(factory, semantic, SearchMode.HYBRID, queries[:5])  # warm caches
            modes = []
            for mode in (SearchMode.LEXICAL, SearchMode.SEMANTIC, SearchMode.HYBRID):
                console.print(f"{backend}: {args.queries} {mode.value} queries")
                modes.append(run_queries(factory, semantic, mode, queries))
        finally:
            engine.dispose()
    return Run(
        backend,
        args.texts,
        index_seconds,
        embedded,
        embed_seconds,
        model_seconds,
        vector_load,
        modes,
    )


def table(runs: list[Run]) -> str:
    lines = [
        "| backend | texts | mode | queries | p50 (ms) | p99 (ms) | queries/s |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in runs:
        for mode in r.modes:
            lines.append(
                f"| {r.backend} | {r.texts:,} | {mode.name} | {len(mode.latencies_ms)} | "
                f"{percentile(mode.latencies_ms, 50):.1f} | "
                f"{percentile(mode.latencies_ms, 99):.1f} | "
                f"{len(mode.latencies_ms) / mode.seconds:.1f} |"
            )
    lines.append("")
    lines.append(
        "| backend | indexing (texts/s) | embedding (texts/s) | model alone (texts/s) "
        "| vector index load (s) |"
    )
    lines.append("|---|---:|---:|---:|---:|")
    for r in runs:
        lines.append(
            f"| {r.backend} | {r.texts / r.index_seconds:,.0f} | "
            f"{r.embedded / r.embed_seconds:,.1f} | {r.embedded / r.model_seconds:,.1f} | "
            f"{r.vector_load_seconds:.1f} |"
        )
    lines.append("")
    lines.append(f"The encoder ran on {runtime_name(desk_encoder())}.")
    return "\n".join(lines)


def runtime_name(embedder: search.Embedder) -> str:
    return "ONNX Runtime" if isinstance(embedder, OnnxSentenceEmbedder) else "torch"


def command_line() -> str:
    return shlex.join(["python", "bench/search.py", *sys.argv[1:]])


DOCS_INTRO = """## Search: hybrid retrieval over articles and cases

Produced by `bench/search.py`. For each backend a fresh migrated database receives the texts
below (a fifth articles and macros, the rest solved cases; titles of 3-8 and bodies of 20-160
words drawn from a {vocabulary}-word Zipf-weighted customer-service vocabulary) through the
search repository, 1,000 per transaction, with the full-text index maintained by the
database (FTS5 triggers on SQLite, a generated tsvector column with a GIN index on
PostgreSQL): that is the indexing rate. The packaged all-MiniLM-L6-v2 embeds {embed:,} of
them on the CPU as the desk does, {batch} texts to a model call (the embedding rate, which
bounds how fast new articles and solved cases become findable by meaning), beside the model
alone over the same passages in one call. The rest get noisy copies of those vectors so the
in-memory index holds one vector per text. Each query (2-6 vocabulary words) then runs alone
through the search service, as `GET /api/v1/search` calls it, without HTTP: lexical (the
rarest words' texts and the newest {candidates:,} texts holding any word, ranked),
semantic (one query embedding, a rough pass over the one-byte-a-number copy of every
stored vector, `CAREDESK_VECTOR_SEARCH=sq8`, and the exact float32 product over the
candidates it finds) and hybrid (both, fused by weighted, normalised scores). Top 10."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    parser.add_argument("--texts", type=int, default=100_000, help="default: %(default)s")
    parser.add_argument("--embed", type=int, default=1024, help="default: %(default)s")
    parser.add_argument("--queries", type=int, default=200, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=42)
    add_run_arguments(parser)
    args = parser.parse_args()
    conditions = Conditions.begin(args)
    if min(args.texts, args.embed, args.queries) < 1 or args.embed > args.texts:
        parser.error("--texts, --embed and --queries must be positive, --embed <= --texts")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    set_model_threads(Settings().model_threads)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backends = args.backend or (["sqlite", "postgresql"] if pg_answers() else ["sqlite"])
    runs = [run(backend, args) for backend in backends]
    figures = table(runs)
    print(figures)
    if args.write_docs:
        intro = DOCS_INTRO.format(
            vocabulary=len(VOCABULARY),
            embed=args.embed,
            batch=search.EMBED_BATCH,
            candidates=LEXICAL_CANDIDATES,
        )
        write_section(
            "search",
            f"{intro}\n\n{figures}\n\nCommand: `{command_line()}`",
            conditions,
        )
        console.print("wrote the search section of docs/benchmarks.md")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        console.print("interrupted; the databases are dropped")
        sys.exit(130)
