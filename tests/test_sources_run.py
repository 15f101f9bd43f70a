"""Runs with tools: retrieval as the planner's first kind of action, answers from the
passages with citations, `result.data_sources`, and the faults a search can meet."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import cadenza
from cadenza.errors import UsageError
from cadenza.models.base import ModelRequest
from cadenza.planner import SearchSettings
from cadenza.result import Result
from cadenza.retrieval import FileSearch, HashingEmbedder, Library
from cadenza.runner import RunOptions
from cadenza.sources.retriever import RetrievalSettings
from cadenza.sources.tools import Tool
from cadenza.testing import ScriptedModel
from cadenza.web import WebSearch, WebSearcher
from cadenza.web.providers import SearchProvider, Site, StaticSearchProvider, WebResult

HERONS = "# Herons\n\nThe grey heron eats fish and frogs. It nests in tall trees.\n"
OWLS = "# Owls\n\nThe barn owl hunts mice at night over open fields.\n"


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library(f"sqlite:///{tmp_path / 'lib.db'}", embedder=HashingEmbedder()) as lib:
        lib.add(HERONS.encode(), name="herons.md", labels=["birds", "water"])
        lib.add(OWLS.encode(), name="owls.md", labels=["birds", "night"])
        yield lib


def _cite_the_heron(request: ModelRequest) -> str:
    prompt = request.messages[-1].content
    for line in prompt.splitlines():
        if "heron" in line and line.startswith("[P"):
            return f"fish and frogs [{line[1:3]}]"
    return "I do not know."


async def ask(
    library: Library | None,
    *,
    max_calls: int,
    model: ScriptedModel | None = None,
    tools: Sequence[Tool] | None = None,
    options: RunOptions | None = None,
) -> Result:
    """What does the grey heron eat? A run with `tools` (default: a file search) over
    `library`, answered by `model` (default: one citing the heron's passage)."""
    return await cadenza.arun(
        "What does the grey heron eat?",
        models=[model or ScriptedModel(default=_cite_the_heron)],
        budget={"max_calls": max_calls},
        tools=list(tools) if tools is not None else [FileSearch()],
        library=library,
        options=options,
    )


async def test_a_file_search_answers_from_cited_passages(library: Library) -> None:
    model = ScriptedModel(default=_cite_the_heron)
    result = await ask(library, max_calls=4, model=model)
    assert result.result.startswith("fish and frogs [P")
    names = {r.name for r in result.requirements_result.requirements}
    assert {"cites_sources", "grounded"} <= names
    assert result.score == 1.0 and 1 <= result.usage.calls <= 4
    # the model saw the passages under short ids, then the question
    prompt = model.generation_requests[0].messages[-1].content
    assert "[P1]" in prompt and "Question: What does the grey heron eat?" in prompt
    ds = result.data_sources
    assert ds is not None and not ds.empty_library and ds.failed_searches == 0
    heron = next(p for p in ds.file_search if p.file_name == "herons.md")
    assert heron.cited and heron.order == int(heron.id[1:]) and heron.score > 0
    assert "grey heron eats fish" in heron.text and heron.file_id
    # retrieval is in the trace: the search first, its passages under it
    kinds = [n.kind for n in result.trace]
    assert kinds.index("search") < kinds.index("generate")
    search = next(n for n in result.trace if n.kind == "search")
    assert search.detail["query"] == "What does the grey heron eat?"
    passages = [n for n in result.trace if n.kind == "passage"]
    assert passages and all(p.parent == search.id for p in passages)
    assert any(p.detail.get("label") == heron.id for p in passages)


async def test_a_wrong_citation_is_caught_and_revised(library: Library) -> None:
    model = ScriptedModel(["fish and frogs [P9]"], default=_cite_the_heron)
    result = await ask(
        library,
        max_calls=6,
        model=model,
        options=RunOptions(search=SearchSettings(repairs=False, width=1)),
    )
    first = next(n for n in result.trace if n.kind == "generate")
    assert first.scores["cites_sources"] < 1.0
    assert result.score == 1.0 and "[P9]" not in result.result


async def test_an_empty_library_says_so_and_still_answers(tmp_path: Path) -> None:
    with Library(f"sqlite:///{tmp_path / 'empty.db'}", embedder=HashingEmbedder()) as lib:
        model = ScriptedModel(default="Nothing was found.")
        result = await ask(lib, max_calls=2, model=model)
    ds = result.data_sources
    assert ds is not None and ds.empty_library and ds.file_search == []
    assert any("no files" in n for n in ds.notes)
    assert "Nothing was found to answer from" in model.generation_requests[0].messages[-1].content
    assert result.result == "Nothing was found."


async def test_labels_and_ids_that_match_nothing_are_reported(library: Library) -> None:
    result = await ask(
        library,
        max_calls=2,
        tools=[FileSearch(labels=["birds", "reptiles"]), FileSearch(file_ids=["nope"])],
    )
    ds = result.data_sources
    assert ds is not None
    assert ds.unmatched_labels == ["reptiles"] and ds.unknown_file_ids == ["nope"]
    assert any("reptiles" in n for n in ds.notes) and any("nope" in n for n in ds.notes)
    assert any(p.file_name == "herons.md" for p in ds.file_search)  # the rest still works


class _Down(SearchProvider):
    name = "down"

    async def _search(self, query: str, limit: int, sites: Sequence[Site]) -> list[WebResult]:
        raise ConnectionError("search provider unreachable (HTTP 429: rate limited)")


async def test_a_provider_that_is_down_is_a_failed_node_and_the_run_goes_on(
    library: Library,
) -> None:
    web = WebSearcher(provider=_Down())
    result = await ask(
        library, max_calls=2, tools=[FileSearch(), WebSearch()], options=RunOptions(web=web)
    )
    await web.aclose()
    ds = result.data_sources
    assert ds is not None and ds.failed_searches >= 1
    failed = [n for n in result.trace if n.kind == "search" and n.status == "failed"]
    assert failed and "rate limited" in (failed[0].error or "")
    assert any("web search failed" in n for n in ds.notes)
    assert result.result.startswith("fish and frogs") and result.score == 1.0


async def test_web_results_are_sources_with_urls() -> None:
    provider = StaticSearchProvider(
        [("Grey heron", "https://birds.example/heron", "The grey heron eats fish and frogs.")]
    )
    web = WebSearcher(provider=provider)
    result = await ask(
        None,
        max_calls=2,
        tools=[WebSearch()],
        options=RunOptions(web=web, retrieval=RetrievalSettings(hops=0)),
    )
    await web.aclose()
    ds = result.data_sources
    assert ds is not None and ds.file_search == []
    assert [(s.url, s.cited) for s in ds.web_search] == [("https://birds.example/heron", True)]


async def test_tools_must_be_tools() -> None:
    with pytest.raises(UsageError, match="FileSearch"):
        await cadenza.arun("q", models=[ScriptedModel()], tools=["file_search"])  # type: ignore[list-item]


async def test_a_long_answer_is_cut_to_its_short_phrase(library: Library) -> None:
    model = ScriptedModel(default="The usual food of the grey heron is fish and frogs [P1].")
    result = await ask(library, max_calls=1, model=model)
    assert result.result == "fish and frogs [P1]"
    short = next(r for r in result.requirements_result.requirements if r.name == "short_answer")
    assert short.score == 1.0 and result.score == 1.0
    assert any(n.kind == "repair" and "short_answer" in n.detail["repairs"] for n in result.trace)


def test_the_short_answer_check_and_its_bound() -> None:
    from cadenza.sources.checks import short_answer_check
    from cadenza.validators.base import CheckContext

    ctx = CheckContext("Who?", "short_answer", "short", args={"max_words": 3})
    assert short_answer_check("Ada Brell [P2]", ctx).score == 1.0
    long = short_answer_check("It was founded by Ada Brell [P2]", ctx)
    assert long.score == pytest.approx(3 / 6) and "at most 3 words" in long.reason
    with pytest.raises(ValueError, match="max_words"):
        short_answer_check("x", CheckContext("Who?", "s", "s", args={"max_words": 0}))


async def test_sentences_style_has_no_short_answer_requirement(library: Library) -> None:
    result = await ask(
        library,
        max_calls=1,
        options=RunOptions(retrieval=RetrievalSettings(answer_style="sentences")),
    )
    names = [r.name for r in result.requirements_result.requirements]
    assert names == ["cites_sources", "grounded"]


class _Slow(SearchProvider):
    name = "slow"

    async def _search(self, query: str, limit: int, sites: Sequence[Site]) -> list[WebResult]:
        await asyncio.sleep(30)
        return []


async def test_a_slow_provider_times_out_as_a_failed_node(library: Library) -> None:
    web = WebSearcher(provider=_Slow())
    started = time.monotonic()
    result = await ask(
        library,
        max_calls=2,
        tools=[FileSearch(), WebSearch()],
        options=RunOptions(web=web, retrieval=RetrievalSettings(search_timeout_s=0.2, hops=0)),
    )
    await web.aclose()
    assert time.monotonic() - started < 10
    failed = [n for n in result.trace if n.kind == "search" and n.status == "failed"]
    assert len(failed) == 1 and "longer than 0.2 s" in (failed[0].error or "")
    assert result.data_sources is not None and result.data_sources.failed_searches == 1
    assert result.result.startswith("fish and frogs") and result.score == 1.0
