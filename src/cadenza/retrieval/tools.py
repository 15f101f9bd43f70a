"""`FileSearch`: the options of a library search as one value.

A run's tools (a later layer) carry one of these; the Maestro API's ``file_search`` tool
maps onto it field by field (``labels``, ``labels_filter_mode``, ``file_ids``,
``retrieval_similarity_threshold``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .filters import FileFilter
from .library import Library
from .passages import LabelMode, SearchMode, SearchResult

__all__ = ["FileSearch"]


@dataclass(frozen=True)
class FileSearch:
    """Search the document library: which files, how many passages, how similar."""

    labels: tuple[str, ...] = ()
    label_mode: LabelMode = "OR"
    file_ids: tuple[str, ...] = ()
    path_prefix: str | None = None
    limit: int = 6
    threshold: float | None = None
    mode: SearchMode = "hybrid"
    owner: str | None = None
    """Only files this owner added (the server sets it to the request's key; a request
    never does). None: anyone's."""
    kind: Literal["file_search"] = "file_search"

    def __post_init__(self) -> None:
        flt = FileFilter.of(
            labels=list(self.labels),
            label_mode=self.label_mode,
            file_ids=list(self.file_ids),
            path_prefix=self.path_prefix,
            owner=self.owner,
        )
        object.__setattr__(self, "labels", flt.labels)
        object.__setattr__(self, "label_mode", flt.label_mode)
        object.__setattr__(self, "file_ids", flt.file_ids)
        object.__setattr__(self, "path_prefix", flt.path_prefix)

    def options(self) -> dict[str, Any]:
        """The keyword arguments of `Library.search` this stands for."""
        return {
            "labels": list(self.labels),
            "label_mode": self.label_mode,
            "file_ids": list(self.file_ids),
            "path_prefix": self.path_prefix,
            "limit": self.limit,
            "threshold": self.threshold,
            "mode": self.mode,
            "owner": self.owner,
        }

    def search(self, library: Library, query: str) -> SearchResult:
        return library.search(query, **self.options())

    async def asearch(self, library: Library, query: str) -> SearchResult:
        return await library.asearch(query, **self.options())
