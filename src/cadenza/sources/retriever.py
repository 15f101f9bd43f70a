"""Running a run's searches, and recording each in the trace.

A `Retriever` holds the run's tools and its `Evidence`. Each search (one query to one
tool) is a ``search`` trace node, each passage it returned a ``passage`` node under it,
and each web page fetched a ``fetch`` node under it. A search that fails — a provider
down, slow or rate-limited, a page that cannot be fetched — ends as a failed node, is
counted and noted, and the run goes on with what the other searches found.

The steps, which the planner's retrieval actions take in order:

1. `search_question`: every tool, with the user's question;
2. `follow_up` (multi-hop): the names the best passages mention that the question does
   not (`hops.new_entities`) are looked up; a passage titled with such a name is a bridge
   to the next fact;
3. `select`: the passages to show the model, at most `RetrievalSettings.max_shown`: the
   first search's best, then the bridges, then the rest of the first search, each tool
   taking its turn; they get their short ids (``P1``...).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import CadenzaError
from ..result import TraceNode
from ..retrieval import FileSearch
from ..retrieval.passages import SearchResult
from ..trace import RunEvent, TraceRecorder
from ..web import WebSearch
from ..web.search import WebSearchResult
from .evidence import Evidence, Found, Source
from .hops import names_match, new_entities
from .tools import ToolSet

__all__ = ["RetrievalSettings", "Retriever"]


@dataclass(frozen=True)
class RetrievalSettings:
    """How a run retrieves. Every constant of the retrieval actions is here."""

    per_query: int = 10
    """Passages one search of the question returns (the candidates to choose from)."""
    max_shown: int = 6
    """The most passages shown to the model (all tools together; each tool's `limit`
    caps its own share)."""
    keep_first: int = 3
    """Passages of the question's own search shown before any bridge."""
    hops: int = 1
    """Follow-up rounds after the first search (0: the question's search only)."""
    mine_passages: int = 2
    """How many of the best passages (per tool) are read for names to follow."""
    max_entities: int = 12
    """Names looked up per follow-up round in the library."""
    max_web_entities: int = 2
    """Names looked up per follow-up round on the web (each is a provider call)."""
    entity_results: int = 3
    """Passages one name's lookup returns (a title naming it is the bridge)."""
    search_timeout_s: float = 30.0
    """The longest one search may take (a web search with its page fetches included);
    past it the search is a failed trace node and the run goes on without it."""
    answer_style: str = "short"
    """``short``: ask for a short phrase (or yes/no) with its citation; ``sentences``: a
    plain answer in sentences, each citing its passages."""
    extract: bool = True
    """With ``short`` answers to a short factual question, on a model that enforces
    grammars: first let the model choose among candidate answers cut out of the passages
    (`sources.choose.Extract`); the free-form samples follow only if that answer fails."""
    extract_choices: int = 3
    """The most candidates the model chooses among (the best by `spans.candidate_spans`).
    Measured on 40 HotpotQA questions with the embedded model: F1 0.274 choosing among 3,
    0.199 among 6 (it picks the first listed 70-75 % of the time either way)."""
    extract_max_words: int = 8
    """Longer candidates are left out (the ``short_answer`` requirement's bound)."""
    extract_prior: float = 0.9
    """The policy's prior for the extractive answer (above sample's and revise's, so it
    goes first)."""

    def __post_init__(self) -> None:
        for name in (
            "per_query",
            "max_shown",
            "keep_first",
            "mine_passages",
            "max_entities",
            "entity_results",
            "extract_choices",
            "extract_max_words",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"RetrievalSettings.{name} must be an integer of at least 1")
        if not self.search_timeout_s > 0:
            raise ValueError("RetrievalSettings.search_timeout_s must be more than 0")
        if self.hops < 0 or self.max_web_entities < 0:
            raise ValueError("RetrievalSettings.hops and max_web_entities must be 0 or more")
        if not 0 <= self.extract_prior <= 1:
            raise ValueError("RetrievalSettings.extract_prior must be from 0 to 1")
        if self.answer_style not in ("short", "sentences"):
            raise ValueError("RetrievalSettings.answer_style must be 'short' or 'sentences'")


@dataclass
class _Ranked:
    """One tool's passages, ranked, from one step."""

    tool: FileSearch | WebSearch
    passages: list[Found] = field(default_factory=list)


class Retriever:
    def __init__(
        self,
        tools: ToolSet,
        trace: TraceRecorder,
        question: str,
        settings: RetrievalSettings | None = None,
    ) -> None:
        self.tools = tools
        self.trace = trace
        self.question = " ".join(question.split())
        self.settings = settings or RetrievalSettings()
        self.evidence = Evidence()
        self.first: list[_Ranked] = []
        self.bridges: list[_Ranked] = []
        self.hops_done = 0
        self.searched = False

    # -- steps ------------------------------------------------------------------------
    async def search_question(self, parent: str | None = None) -> None:
        """Every tool, with the question."""
        parent = parent or self.trace.root.id
        self.first = list(
            await asyncio.gather(
                *(
                    self._search(tool, self.question, "question", parent, self.settings.per_query)
                    for tool in self.tools.tools
                )
            )
        )
        self.searched = True

    async def follow_up(self, parent: str | None = None) -> int:
        """One hop: look up the names the best passages mention that the question does
        not. Returns how many bridge passages it found."""
        parent = parent or self.trace.root.id
        self.hops_done += 1
        s = self.settings
        found = 0
        lookups = []
        for ranked in self.first:
            mined = ranked.passages[: s.mine_passages]
            # later hops read the bridges found so far
            for b in self.bridges:
                if b.tool is ranked.tool:
                    mined += b.passages[: s.mine_passages]
            limit = s.max_entities if isinstance(ranked.tool, FileSearch) else s.max_web_entities
            names = new_entities(self.question, [(p.title, p.text) for p in mined], limit=limit)
            asked = set(self.evidence.queries)
            names = [n for n in names if n not in asked][:limit]
            lookups += [(ranked.tool, name) for name in names]
        results = await asyncio.gather(
            *(
                self._search(tool, name, f"bridge: {name}", parent, s.entity_results)
                for tool, name in lookups
            )
        )
        for (tool, name), ranked in zip(lookups, results, strict=True):
            hits = [p for p in ranked.passages if names_match(name, p.title)]
            if hits:
                self.bridges.append(_Ranked(tool, hits[:1]))
                found += 1
        return found

    def select(self) -> list[Source]:
        """Choose the passages to show and give them their short ids (once)."""
        if self.evidence.shown:
            return list(self.evidence.shown)
        s = self.settings
        per_tool: list[list[Found]] = []
        for ranked in self.first:
            order: list[Found] = list(ranked.passages[: s.keep_first])
            order += [p for b in self.bridges if b.tool is ranked.tool for p in b.passages]
            order += ranked.passages[s.keep_first :]
            seen: set[str] = set()
            unique = []
            for p in order:
                if p.key not in seen:
                    seen.add(p.key)
                    unique.append(p)
            cap = ranked.tool.limit
            per_tool.append(unique[:cap])
        chosen: list[Found] = []
        for i in range(max((len(x) for x in per_tool), default=0)):
            for x in per_tool:
                if i < len(x) and len(chosen) < s.max_shown:
                    chosen.append(x[i])
        shown = self.evidence.show(chosen)
        for source in shown:
            self._mark_shown(source)
        return shown

    # -- one search -------------------------------------------------------------------
    async def _search(
        self, tool: FileSearch | WebSearch, query: str, purpose: str, parent: str, limit: int
    ) -> _Ranked:
        self.evidence.queries.append(query)
        node = self.trace.start(
            "search",
            parent=parent,
            detail={"tool": tool.kind, "query": query, "purpose": purpose},
        )
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.settings.search_timeout_s):
                if isinstance(tool, FileSearch):
                    found = await self._file_search(tool, query, limit, node)
                else:
                    found = await self._web_search(tool, query, node)
        except TimeoutError:
            self.evidence.failed_searches += 1
            what = "file search" if isinstance(tool, FileSearch) else "web search"
            message = f"the {what} took longer than {self.settings.search_timeout_s:g} s"
            self.evidence.note(f"a {what} failed and the run went on without it: {message}")
            self.trace.finish(node, "failed", error=message, latency_s=time.monotonic() - started)
            return _Ranked(tool)
        except asyncio.CancelledError:
            self.trace.finish(node, "cancelled", latency_s=time.monotonic() - started)
            raise
        except Exception as exc:  # a failed search never fails the run
            self.evidence.failed_searches += 1
            what = "file search" if isinstance(tool, FileSearch) else "web search"
            message = _message(exc)
            self.evidence.note(f"a {what} failed and the run went on without it: {message}")
            self.trace.finish(node, "failed", error=message, latency_s=time.monotonic() - started)
            return _Ranked(tool)
        node.detail["found"] = len(found)
        self.trace.finish(
            node,
            "ok",
            response=f"{len(found)} passage(s)",
            latency_s=time.monotonic() - started,
        )
        for i, p in enumerate(found):
            pnode = self.trace.start("passage", parent=node.id, detail=_passage_detail(p, i + 1))
            self.trace.finish(pnode, "ok", response=p.text)
            found[i] = _with_node(p, pnode.id)
            self.evidence.add(found[i])
        return _Ranked(tool, found)

    async def _file_search(
        self, tool: FileSearch, query: str, limit: int, node: TraceNode
    ) -> list[Found]:
        library = self.tools.library
        assert library is not None  # ToolSet.open gives file searches a library
        options = tool.options()
        options["limit"] = max(1, min(limit, library.settings.max_limit))
        result: SearchResult = await library.asearch(query, **options)
        node.detail.update(
            {
                "mode": result.mode,
                "files_searched": result.files_searched,
                **({"reason": result.reason} if result.reason else {}),
                **({"notes": list(result.notes)} if result.notes else {}),
            }
        )
        ev = self.evidence
        if result.reason == "empty_library" and not ev.empty_library:
            ev.empty_library = True
            ev.note("the file search found nothing: the library has no files (add some first)")
        elif result.reason == "no_matching_files":
            ev.note("the file search found nothing: no file passes its filters")
        for fid in result.unknown_file_ids:
            if fid not in ev.unknown_file_ids:
                ev.unknown_file_ids.append(fid)
        for lab in result.unmatched_labels:
            if lab not in ev.unmatched_labels:
                ev.unmatched_labels.append(lab)
        if result.unknown_file_ids:
            ev.note(f"file ids that name no file: {', '.join(ev.unknown_file_ids)}")
        if result.unmatched_labels:
            ev.note(f"labels no file carries: {', '.join(ev.unmatched_labels)}")
        return Found.in_files(result.passages, query)

    async def _web_search(self, tool: WebSearch, query: str, node: TraceNode) -> list[Found]:
        web = self.tools.web
        assert web is not None  # ToolSet.open gives web searches a searcher
        result: WebSearchResult = await web.search(query, tool)
        for page in result.pages:
            f = self.trace.start(
                "fetch",
                parent=node.id,
                detail={"url": page.url, "final_url": page.final_url, "title": page.title},
            )
            self.trace.finish(f, "ok", response=page.title or page.final_url)
        for err in result.errors:
            f = self.trace.start("fetch", parent=node.id, detail={"url": err.url})
            self.trace.finish(f, "failed", error=_message(err))
        if result.errors:
            self.evidence.note(
                f"{len(result.errors)} web page(s) could not be fetched: "
                + "; ".join(_message(e) for e in result.errors[:3])
            )
        if result.notes:
            node.detail["notes"] = list(result.notes)
        ranked = sorted(result.passages, key=lambda p: -p.score)
        return [
            Found(
                kind="web",
                key=p.id,
                text=p.text,
                title=p.title,
                score=p.score,
                query=query,
                rank=i + 1,
                url=p.url,
            )
            for i, p in enumerate(ranked)
        ]

    def _mark_shown(self, source: Source) -> None:
        node_id = source.found.node_id
        if node_id is None:
            return
        for node in reversed(self.trace.nodes):
            if node.id == node_id:
                node.detail["label"] = source.label
                self.trace.emit(RunEvent("node_finished", node=node))
                return


def _passage_detail(p: Found, rank: int) -> dict[str, Any]:
    detail: dict[str, Any] = {"rank": rank, "score": p.score, "title": p.title, "key": p.key}
    if p.kind == "file":
        detail.update({"file_id": p.file_id, "file_name": p.file_name})
    else:
        detail["url"] = p.url
    return detail


def _with_node(p: Found, node_id: str) -> Found:
    from dataclasses import replace

    return replace(p, node_id=node_id)


def _message(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, CadenzaError) else f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def labels_of(sources: Sequence[Source]) -> list[str]:
    return [s.label for s in sources]
