"""A run's tools (`FileSearch`, `WebSearch`) with what they search: the library and the
web searcher.

    tools = await ToolSet.open([FileSearch(labels=["hr"])], library=Library("sqlite:///kb.db"))

`ToolSet.open` checks the tools and opens what they need and nobody gave: the default
library for a file search, a web searcher from the operator's environment for a web
search (a `UsageError` when no provider is configured and the search needs one). What
it opened, `aclose` closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from ..errors import UsageError
from ..retrieval import FileSearch, Library
from ..web import WebSearch, WebSearcher, split_urls

__all__ = ["Tool", "ToolSet"]

Tool: TypeAlias = FileSearch | WebSearch


@dataclass
class ToolSet:
    tools: tuple[Tool, ...]
    library: Library | None = None
    web: WebSearcher | None = None
    _owned: list[Library | WebSearcher] = field(default_factory=list, repr=False)

    @classmethod
    async def open(
        cls,
        tools: Sequence[Tool],
        *,
        library: Library | str | None = None,
        web: WebSearcher | None = None,
    ) -> ToolSet:
        checked: list[Tool] = []
        for i, tool in enumerate(tools):
            if not isinstance(tool, FileSearch | WebSearch):
                raise UsageError(
                    f"tools[{i}]: a tool is cadenza.FileSearch(...) or cadenza.WebSearch(...), "
                    f"not {type(tool).__name__}"
                )
            checked.append(tool)
        out = cls(tuple(checked))
        try:
            if any(isinstance(t, FileSearch) for t in checked):
                if isinstance(library, Library):
                    out.library = library
                else:
                    out.library = await asyncio.to_thread(Library, library)
                    out._owned.append(out.library)
            webs = [t for t in checked if isinstance(t, WebSearch)]
            if webs:
                if web is None:
                    web = WebSearcher()
                    out._owned.append(web)
                out.web = web
                if web.provider is None and any(split_urls(t.urls)[0] or not t.urls for t in webs):
                    raise UsageError(
                        "web search needs a search provider, and none is configured: set "
                        "CADENZA_SEARXNG_URL, CADENZA_BRAVE_API_KEY or CADENZA_TAVILY_API_KEY "
                        "(or give WebSearch(urls=[...]) pages to read)"
                    )
        except BaseException:
            await out.aclose()
            raise
        return out

    @property
    def file_searches(self) -> list[FileSearch]:
        return [t for t in self.tools if isinstance(t, FileSearch)]

    @property
    def web_searches(self) -> list[WebSearch]:
        return [t for t in self.tools if isinstance(t, WebSearch)]

    async def aclose(self) -> None:
        """Close what `open` opened (the default library, a web searcher)."""
        owned, self._owned = self._owned, []
        for thing in owned:
            if isinstance(thing, Library):
                thing.close()
            else:
                await thing.aclose()
