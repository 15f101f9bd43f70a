"""Nearest passages by cosine similarity, in this process, over a cached matrix.

The database keeps each vector as float32 bytes. Decoding 100k blobs for every query
would cost far more than the search itself, so `VectorMatrix` holds one matrix per
embedding model (n x 384 float32: 154 MB for 100k passages) with each row's chunk
id and file seq, and a query is a single matrix-vector product. The matrix is tagged with
the library's generation: this process's own writes patch it in place (append a file's
rows, drop a deleted file's), any other change (another process wrote) reloads it.

Filters become boolean masks over the rows (files' seqs looked up once per filter and
generation, then ``numpy.isin``), kept in a small cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["VectorMatrix"]

_MASKS = 32


@dataclass(frozen=True)
class _Snapshot:
    generation: int
    chunk_ids: npt.NDArray[np.int64]
    file_seqs: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float32]


class VectorMatrix:
    """The vectors of one model, as one matrix. Thread-safe: readers work on an immutable
    snapshot; writers replace it."""

    def __init__(
        self,
        model: str,
        dimensions: int,
        load: Callable[[str], tuple[list[int], list[int], list[bytes]]],
    ) -> None:
        self.model = model
        self.dimensions = dimensions
        self._load = load
        self._lock = threading.Lock()
        self._snap: _Snapshot | None = None
        self._masks: OrderedDict[tuple[int, int, Any], npt.NDArray[np.bool_]] = OrderedDict()
        self.loads = 0
        """How many times the matrix was read whole from the database (for tests)."""

    def snapshot(self, generation: int) -> _Snapshot:
        snap = self._snap
        if snap is not None and snap.generation == generation:
            return snap
        with self._lock:
            snap = self._snap
            if snap is None or snap.generation != generation:
                snap = self._read(generation)
                self._snap = snap
            return snap

    def _read(self, generation: int) -> _Snapshot:
        import numpy as np

        ids, seqs, blobs = self._load(self.model)
        self.loads += 1
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32)
        if matrix.size:
            matrix = matrix.reshape(len(ids), -1)
        else:
            matrix = np.zeros((0, self.dimensions), dtype=np.float32)
        return _Snapshot(
            generation,
            np.asarray(ids, dtype=np.int64),
            np.asarray(seqs, dtype=np.int64),
            np.ascontiguousarray(matrix),
        )

    # -- this process's own writes ----------------------------------------------------
    def appended(
        self, before: int, after: int, chunk_ids: Sequence[int], file_seq: int, vectors: Any
    ) -> None:
        """Rows added by a write that took the generation from `before`+1 to `after`."""
        import numpy as np

        with self._lock:
            snap = self._snap
            if snap is None or snap.generation != before:
                self._snap = None  # someone else wrote too: reload on next use
                return
            add = np.asarray(vectors, dtype=np.float32).reshape(len(chunk_ids), -1)
            self._snap = _Snapshot(
                after,
                np.concatenate([snap.chunk_ids, np.asarray(chunk_ids, dtype=np.int64)]),
                np.concatenate([snap.file_seqs, np.full(len(chunk_ids), file_seq, np.int64)]),
                np.concatenate([snap.matrix, add]) if len(snap.matrix) else add,
            )

    def removed(self, before: int, after: int, file_seq: int) -> None:
        with self._lock:
            snap = self._snap
            if snap is None or snap.generation != before:
                self._snap = None
                return
            keep = snap.file_seqs != file_seq
            self._snap = _Snapshot(
                after, snap.chunk_ids[keep], snap.file_seqs[keep], snap.matrix[keep]
            )

    def touched(self, before: int, after: int) -> None:
        """A write that changed no vector (labels, path): the matrix stays valid."""
        with self._lock:
            snap = self._snap
            if snap is None or snap.generation != before:
                self._snap = None
                return
            self._snap = _Snapshot(after, snap.chunk_ids, snap.file_seqs, snap.matrix)

    def invalidate(self) -> None:
        with self._lock:
            self._snap = None

    # -- search -----------------------------------------------------------------------
    def nearest(
        self,
        query: npt.NDArray[np.float32],
        k: int,
        *,
        generation: int,
        filter_key: Any = None,
        allowed_seqs: Callable[[], Sequence[int]] | None = None,
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) of the `k` rows nearest `query` (a unit vector)
        among the rows of files `allowed_seqs()` returns (all rows when None)."""
        import numpy as np

        snap = self.snapshot(generation)
        if not len(snap.matrix) or k <= 0:
            return []
        scores = _dot(snap.matrix, query)
        if allowed_seqs is not None:
            mask = self._mask(snap, filter_key, allowed_seqs)
            scores = np.where(mask, scores, -np.inf)
            available = int(mask.sum())
        else:
            available = len(scores)
        k = min(k, available)
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(snap.chunk_ids[i]), float(scores[i])) for i in top]

    def similarities(
        self, query: npt.NDArray[np.float32], chunk_ids: Sequence[int], *, generation: int
    ) -> dict[int, float]:
        """Cosine similarity of `query` to each of `chunk_ids` that has a vector."""
        import numpy as np

        snap = self.snapshot(generation)
        if not len(snap.chunk_ids) or not chunk_ids:
            return {}
        wanted = np.asarray(chunk_ids, dtype=np.int64)
        # chunk ids only grow and rows stay in id order, so the ids are sorted
        at = np.searchsorted(snap.chunk_ids, wanted)
        at = np.clip(at, 0, len(snap.chunk_ids) - 1)
        found = snap.chunk_ids[at] == wanted
        rows = at[found]
        sims = _dot(snap.matrix[rows], query)
        return {int(c): float(s) for c, s in zip(wanted[found], sims, strict=True)}

    def _mask(
        self, snap: _Snapshot, key: Any, allowed: Callable[[], Sequence[int]]
    ) -> npt.NDArray[np.bool_]:
        import numpy as np

        cache_key = (snap.generation, len(snap.chunk_ids), key)
        with self._lock:
            mask = self._masks.get(cache_key)
            if mask is not None:
                self._masks.move_to_end(cache_key)
                return mask
        mask = np.isin(snap.file_seqs, np.asarray(list(allowed()), dtype=np.int64))
        with self._lock:
            self._masks[cache_key] = mask
            while len(self._masks) > _MASKS:
                self._masks.popitem(last=False)
        return mask


def _dot(matrix: npt.NDArray[np.float32], query: npt.NDArray[np.float32]) -> Any:
    """``matrix @ query`` on this thread. A matrix-vector product over 100k rows is bound
    by memory bandwidth; BLAS would wake threads for it, which on a busy machine costs
    more (waiting for cores) than it saves. einsum runs its own single-threaded loop."""
    import numpy as np

    return np.einsum("ij,j->i", matrix, query.astype(np.float32, copy=False))
