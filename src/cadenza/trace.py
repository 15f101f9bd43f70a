"""The call tree of a run, recorded as it happens, and the events it emits.

Every call — generation, revision, judgement, code check — is a `TraceNode` whose
`parent` is the node it depends on. The recorder numbers nodes, keeps them in
creation order and tells listeners (the CLI's progress line, the server's event
stream) about every change.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .result import NodeKind, TraceNode

__all__ = ["EventKind", "RunEvent", "TraceRecorder"]

EventKind = Literal["node_started", "node_finished", "best_changed", "message"]


@dataclass(frozen=True)
class RunEvent:
    kind: EventKind
    node: TraceNode | None = None
    best_score: float | None = None
    message: str = ""


Listener = Callable[[RunEvent], None]


class TraceRecorder:
    def __init__(self, listener: Listener | None = None) -> None:
        self.nodes: list[TraceNode] = []
        self._ids = itertools.count(0)
        self._listener = listener
        self.root = self.start("run", parent=None)

    def start(self, kind: NodeKind, *, parent: str | None, **fields: Any) -> TraceNode:
        node = TraceNode(id=f"n{next(self._ids)}", parent=parent, kind=kind, status="running")
        for k, v in fields.items():
            setattr(node, k, v)
        self.nodes.append(node)
        self.emit(RunEvent("node_started", node=node))
        return node

    def finish(
        self,
        node: TraceNode,
        status: Literal["ok", "failed", "cancelled"],
        **fields: Any,
    ) -> None:
        node.status = status
        for k, v in fields.items():
            setattr(node, k, v)
        self.emit(RunEvent("node_finished", node=node))

    def emit(self, event: RunEvent) -> None:
        if self._listener is None:
            return
        try:
            self._listener(event)
        except Exception:  # a broken listener must not break the run
            self._listener = None

    def snapshot(self) -> list[TraceNode]:
        return [n.model_copy(deep=True) for n in self.nodes]
