"""Hybrid search over articles, macros and solved cases, and keeping its index fresh.

Lexical (FTS5 / PostgreSQL full-text) and semantic (stored sentence embeddings) rankings
are fused by a weighted sum of their normalised scores (`domain.search.convex_fusion`).
Texts are embedded once, after they change, by `embed_pending` (a background thread in the
API process, or `caredesk kb embed`); a query costs one embedding of the query itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.cases import Case, CaseChanged, Message, MessageKind
from caredesk.domain.errors import DomainError, ErrorCode, must_exist
from caredesk.domain.events import Event
from caredesk.domain.knowledge import Article, KnownIssue
from caredesk.domain.orders import Order
from caredesk.domain.search import (
    LEXICAL_WEIGHT,
    SIMILARITY_FLOOR,
    CaseSubject,
    IndexedText,
    SearchHit,
    SearchKind,
    SearchMode,
    check_query,
    convex_fusion,
    passages,
    query_terms,
    snippet,
    suggestion_relevance,
    tag_intents,
)
from caredesk.services.engine.facts import ISSUE_FIELD
from caredesk.services.knowledge.ports import Embedder, NewEmbedding, VectorIndex, Vectors
from caredesk.services.knowledge.unit import KnowledgeUnit

CANDIDATES = 50
MAX_LIMIT = 50
# Texts embedded per pass. The model pads each batch to its longest passage; sorting a
# pass's passages by length first leaves little padding when the pass is large: on texts
# of 20 to 160 words, passes of 64 kept 64 % of the tokens it computed real, passes of 256
# kept 89 %, within a point of sorting every text at once.
EMBED_BATCH = 256


@dataclass(frozen=True, slots=True)
class Semantic:
    """The embedder and the in-memory copy of the stored vectors, when the model loaded."""

    embedder: Embedder
    index: VectorIndex
    # The lexical side's share in hybrid fusion (CAREDESK_SEARCH_LEXICAL_WEIGHT).
    lexical_weight: float = LEXICAL_WEIGHT


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: list[SearchHit]
    mode: SearchMode
    semantic_available: bool


def embed_texts(embedder: Embedder, texts: Sequence[tuple[str, str]]) -> list[Vectors]:
    """Each (title, body)'s passage vectors. Every passage goes to the model in one call, so
    it runs full batches of texts of like length instead of one small batch per text."""
    chunks = [passages(title, body) for title, body in texts]
    flat = embedder.embed([passage for chunk in chunks for passage in chunk])
    ends = np.cumsum([len(chunk) for chunk in chunks])
    return [flat[end - len(chunk) : end] for chunk, end in zip(chunks, ends, strict=True)]


def embed_query(embedder: Embedder, query: str) -> Vectors:
    """One unit vector; a long query is the normalised mean of its passages' vectors."""
    chunks = passages("", query)
    vectors = embedder.embed([c.lstrip(". ") for c in chunks])
    mean = vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    unit: Vectors = np.asarray(mean / norm if norm > 0 else mean, dtype=np.float32)
    return unit


def case_text(case: Case, messages: Sequence[Message]) -> str:
    return "\n".join(m.body for m in messages if m.kind is not MessageKind.NOTE)


def index_case(uow: KnowledgeUnit, case: Case, now: datetime) -> None:
    """A solved case joins the index (its public messages), inside the caller's unit."""
    assert case.id is not None
    uow.search.upsert(
        IndexedText(
            kind=SearchKind.CASE,
            ref_id=str(case.id),
            title=case.subject,
            body=case_text(case, uow.cases.messages(case.id)),
            public=False,
        ),
        now,
    )


def on_case_changed(uow: KnowledgeUnit, event: Event) -> None:
    """Handler: a case that became solved joins the index, with its messages so far."""
    if isinstance(event, CaseChanged) and event.solved_now:
        index_case(uow, event.case, event.at)


Scored = list[tuple[int, float]]


def ranked(
    uow: KnowledgeUnit,
    query: str,
    kinds: Sequence[SearchKind],
    public_only: bool,
    mode: SearchMode,
    semantic: Semantic | None,
    pool: int,
) -> tuple[Scored, Scored]:
    """Each side's (entry id, score) candidates, best first, inside the caller's unit."""
    lexical: Scored = []
    dense: Scored = []
    if mode is not SearchMode.SEMANTIC:
        lexical = uow.search.lexical(query_terms(query), kinds, public_only, pool)
    if mode is not SearchMode.LEXICAL and semantic is not None:
        semantic.index.refresh(uow.search)
        dense = semantic.index.nearest(
            embed_query(semantic.embedder, query), kinds, public_only, pool
        )
    return lexical, dense


def _mode_in_use(mode: SearchMode, semantic: Semantic | None) -> SearchMode:
    """Without the embedding model hybrid search runs lexical alone; semantic cannot run."""
    if mode is SearchMode.SEMANTIC and semantic is None:
        raise DomainError(
            "semantic search is unavailable: the embedding model did not load "
            "(lexical and hybrid search still work)",
            code=ErrorCode.SEARCH_UNAVAILABLE,
        )
    return mode if semantic is not None else SearchMode.LEXICAL


def search(
    uow: KnowledgeUnit,
    actor: Actor,
    query: str,
    *,
    kinds: Sequence[SearchKind] = (),
    limit: int = 10,
    mode: SearchMode = SearchMode.HYBRID,
    semantic: Semantic | None = None,
    exclude: Sequence[tuple[SearchKind, str]] = (),
) -> SearchResult:
    actor.require(Permission.READ)
    text = check_query(query)
    limit = max(1, min(limit, MAX_LIMIT))
    public_only = actor.customer_id is not None
    if public_only:
        # A customer's token finds published public articles, never cases or macros.
        kinds = [SearchKind.ARTICLE]
    used = _mode_in_use(mode, semantic)
    pool = max(CANDIDATES, limit * 3)
    with uow:
        lexical, dense = ranked(uow, text, kinds, public_only, used, semantic, pool + len(exclude))
        weight = semantic.lexical_weight if semantic is not None else 1.0
        fused = convex_fusion(lexical, dense, weight)[: pool + len(exclude)]
        lexical_rank = {entry_id: rank for rank, (entry_id, _) in enumerate(lexical, start=1)}
        dense_rank = {entry_id: rank for rank, (entry_id, _) in enumerate(dense, start=1)}
        similarity = dict(dense)
        skip = set(exclude)
        terms = query_terms(text)
        hits: list[SearchHit] = []
        gone: list[int] = []
        stored = _stored_in_order(uow, [entry_id for entry_id, _ in fused], limit + len(skip))
        for (entry_id, score), entry in zip(fused, stored, strict=False):
            if entry is None:
                gone.append(entry_id)
                continue
            if (entry.kind, entry.ref_id) in skip:
                continue
            # The in-memory vectors carry kind and visibility as they were when embedded; an
            # article made internal since keeps its vectors, so the stored entry decides.
            if (public_only and not entry.public) or (kinds and entry.kind not in kinds):
                continue
            hits.append(
                SearchHit(
                    kind=entry.kind,
                    ref_id=entry.ref_id,
                    title=entry.title,
                    snippet=snippet(entry.body, terms),
                    score=round(score, 6),
                    lexical_rank=lexical_rank.get(entry_id),
                    semantic_rank=dense_rank.get(entry_id),
                    public=entry.public,
                    similarity=(round(similarity[entry_id], 4) if entry_id in similarity else None),
                )
            )
            if len(hits) == limit:
                break
    if gone and semantic is not None:
        semantic.index.discard(gone)
    return SearchResult(hits, used, semantic is not None)


def _stored_in_order(
    uow: KnowledgeUnit, ids: Sequence[int], first: int
) -> Iterator[IndexedText | None]:
    """The stored text of each id in turn, None for one that left the index: the first
    `first` read in one query, the rest in a second only if the caller reads past them
    (some were filtered out or gone)."""
    for start, end in ((0, first), (first, len(ids))):
        chunk = ids[start:end]
        if chunk:
            found = uow.search.entries(chunk)
            yield from (found.get(entry_id) for entry_id in chunk)


def embed_pending(
    uow_factory: Callable[[], KnowledgeUnit],
    embedder: Embedder,
    clock: Callable[[], datetime],
    *,
    batch: int = EMBED_BATCH,
    max_batches: int | None = None,
) -> int:
    """Embed every text added or changed since its last embedding; returns how many."""
    done = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        with uow_factory() as uow:
            pending = uow.search.pending(batch)
        if not pending:
            break
        vectors = embed_texts(embedder, [(p.title, p.body) for p in pending])
        with uow_factory() as uow:
            uow.search.store_embeddings(
                [
                    NewEmbedding(
                        p.id, p.content_hash, np.ascontiguousarray(v, np.float32).tobytes()
                    )
                    for p, v in zip(pending, vectors, strict=True)
                ],
                embedder.model_name,
                clock(),
            )
            uow.commit()
        done += len(pending)
        batches += 1
    return done


@dataclass(frozen=True, slots=True)
class SuggestedProgram:
    """A policy program that covers one of the case's known issues: the decision to offer."""

    id: str
    known_issue: str
    remedy: str
    description: str


@dataclass(frozen=True, slots=True)
class CaseSuggestions:
    hits: list[SearchHit]
    known_issues: list[str]
    programs: list[SuggestedProgram]


def _programs(uow: KnowledgeUnit, issues: Sequence[KnownIssue]) -> list[SuggestedProgram]:
    """The programs of the policy in force for these issues, in the issues' order: those an
    issue links to, and those the policy attaches to an issue's key."""
    from caredesk.services.engine.policy import policy_in_force

    if not issues:
        return []
    try:
        programs = policy_in_force(uow).policy.programs
    except DomainError:  # no policy in force yet: nothing to offer
        return []
    chosen: dict[str, SuggestedProgram] = {}
    for issue in issues:
        for program in programs:
            if program.id == issue.program_id or program.known_issue == issue.key:
                chosen.setdefault(
                    program.id,
                    SuggestedProgram(program.id, issue.key, program.remedy, program.description),
                )
    return list(chosen.values())


def suggest_for_case(
    uow: KnowledgeUnit,
    actor: Actor,
    case_id: int,
    *,
    semantic: Semantic | None,
    limit: int = 5,
) -> CaseSuggestions:
    """The articles, macros and past cases most like this case, its known issues and the
    programs that cover them.

    The articles of known issues that match the case come first, and so do their programs:
    the company already decided what to do about them.
    """
    actor.require(Permission.READ)
    with uow:
        case = must_exist(uow.cases.get(case_id), "case", case_id)
        messages = uow.cases.messages(case_id)
        known = _known_issue_articles(uow, case)
    return _with_search(uow, actor, case, messages, known, semantic, limit)


def suggest_for(
    uow: KnowledgeUnit,
    actor: Actor,
    case: Case,
    messages: Sequence[Message],
    *,
    semantic: Semantic | None,
    limit: int = 5,
) -> CaseSuggestions:
    """`suggest_for_case` for a case and its messages the caller has read already: the case
    page reads them once for all its panels."""
    actor.require(Permission.READ)
    with uow:
        known = _known_issue_articles(uow, case)
    return _with_search(uow, actor, case, messages, known, semantic, limit)


@dataclass(frozen=True, slots=True)
class _KnownIssues:
    """The case's known issues, their programs, and their articles' ids, to be pinned first."""

    article_ids: list[int]
    keys: list[str]
    programs: list[SuggestedProgram]


def _known_issue_articles(uow: KnowledgeUnit, case: Case) -> _KnownIssues:
    """The case's known issues (triage's and the agent's), their programs, and their articles'
    ids: the articles are read with the search's hits, in one query."""
    assert case.id is not None
    triage = uow.triage.case_triage(case.id)
    known = list(triage.known_issues) if triage else []
    for key in _case_known_issues(case):
        if key not in known:
            known.append(key)
    issues = [i for i in map(uow.known_issues.get_by_key, known) if i is not None]
    article_ids: list[int] = []
    for issue in issues:
        if issue.article_id is not None and issue.article_id not in article_ids:
            article_ids.append(issue.article_id)
    return _KnownIssues(article_ids, known, _programs(uow, issues))


def _pinned(uow: KnowledgeUnit, article: Article) -> SearchHit:
    return SearchHit(
        kind=SearchKind.ARTICLE,
        ref_id=str(article.id),
        title=article.title,
        # Like every other hit's: words only, no Markdown or HTML.
        snippet=snippet(uow.formats.plain_text(article.body), []),
        score=1.0,
        public=article.is_public,
    )


def _with_search(
    uow: KnowledgeUnit,
    actor: Actor,
    case: Case,
    messages: Sequence[Message],
    known: _KnownIssues,
    semantic: Semantic | None,
    limit: int,
) -> CaseSuggestions:
    """The known issues' articles, then the hits of a search for the case's words that fit it."""
    inbound = [m.body for m in messages if m.kind is MessageKind.INBOUND]
    query = " ".join([case.subject, *inbound[-2:]])[:4000]
    # Room to drop what does not fit the case's product or intent and still fill the list.
    result = search(
        uow,
        actor,
        query,
        kinds=[SearchKind.ARTICLE, SearchKind.MACRO, SearchKind.CASE],
        limit=max(3 * limit, limit + len(known.article_ids)),
        semantic=semantic,
        exclude=[
            (SearchKind.CASE, str(case.id)),
            *((SearchKind.ARTICLE, str(i)) for i in known.article_ids),
        ],
    )
    with uow:
        wanted = [int(h.ref_id) for h in result.hits if h.kind is not SearchKind.CASE]
        articles = {a.id: a for a in uow.articles.many([*known.article_ids, *wanted])}
        pinned = [_pinned(uow, articles[i]) for i in known.article_ids if i in articles]
        fitting = _fitting(uow, case, result.hits, articles)
    return CaseSuggestions((pinned + fitting)[:limit], known.keys, known.programs)


def _issue_types(uow: KnowledgeUnit) -> frozenset[str]:
    from caredesk.services.engine.policy import policy_in_force

    try:
        return frozenset(policy_in_force(uow).policy.issue_types)
    except DomainError:  # no policy in force yet
        return frozenset()


def _subject(case: Case, orders: Mapping[str, Order]) -> CaseSubject:
    """The products of the case's orders and its intent (what triage or an agent set)."""
    products = {
        line.product_id
        for order_id in case.order_ids
        if order_id in orders
        for line in orders[order_id].lines
    }
    intent = case.custom_fields.get(ISSUE_FIELD)
    return CaseSubject(frozenset(products), intent if isinstance(intent, str) else None)


def _fitting(
    uow: KnowledgeUnit,
    case: Case,
    hits: Sequence[SearchHit],
    articles: Mapping[int | None, Article],
) -> list[SearchHit]:
    """The hits that fit the case's product and intent and clear the relevance floor, the
    best fitting first; articles and macros by their products and tags, past cases by
    their orders' products and their intent.

    The hits' past cases and those cases' orders are read in one query each, the articles by
    the caller with the known issues': a list of fifteen hits is not fifteen lookups.
    """
    own_orders = {o.id: o for o in map(uow.orders.get, case.order_ids) if o is not None}
    subject = _subject(case, own_orders)
    issue_types = _issue_types(uow)
    others = {
        c.id: c for c in uow.cases.many([int(h.ref_id) for h in hits if h.kind is SearchKind.CASE])
    }
    their_orders = {
        o.id: o for o in uow.orders.many({i for c in others.values() for i in c.order_ids})
    }
    scored: list[tuple[float, SearchHit]] = []
    for hit in hits:
        if hit.kind is SearchKind.CASE:
            other = others.get(int(hit.ref_id))
            if other is None:
                continue
            about = _subject(other, their_orders)
            products: frozenset[str] = about.products
            intents = frozenset({about.intent} if about.intent else ()) & issue_types
        else:
            article = articles.get(int(hit.ref_id))
            if article is None:
                continue
            products = frozenset(article.product_ids)
            intents = tag_intents(article.tags, issue_types)
        relevance = suggestion_relevance(subject, hit.similarity, products, intents)
        if relevance is not None and relevance >= SIMILARITY_FLOOR:
            scored.append((relevance, hit))
    scored.sort(key=lambda pair: -pair[0])
    return [hit for _, hit in scored]


def _case_known_issues(case: Case) -> list[str]:
    from caredesk.services.engine.facts import case_facts

    return list(case_facts(case)["case.known_issues"])
