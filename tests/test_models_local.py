"""The embedded llama.cpp model: file checks offline, and one real run on loopback."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from pathlib import Path

import pytest

from cadenza.errors import ModelNotFoundError, PermanentProviderError
from cadenza.models import LocalModel, Message, Model, ModelRequest
from cadenza.models.local import (
    embedded_model_path,
    find_embedded_model,
    shutdown_embedded_servers,
)

MESSAGES = (
    Message("system", "You answer in one short sentence."),
    Message("user", "What colour is the sky on a clear day?"),
)


def test_missing_gguf_path_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "nope.gguf"
    with pytest.raises(ModelNotFoundError) as info:
        LocalModel(f"local:{missing}", missing)
    assert str(missing) in str(info.value)


def test_a_directory_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        LocalModel("local:dir", tmp_path)


def test_constructing_starts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF\0\0\0\0")
    started = time.monotonic()
    model = LocalModel("local:m", path, n_parallel=3)
    assert time.monotonic() - started < 0.5
    assert model.max_concurrency == 3


async def test_a_corrupt_gguf_fails_clearly_at_first_use(tmp_path: Path) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"GGUF" + b"\xff" * 64)
    model = LocalModel("local:broken", path, n_ctx=512, n_parallel=1)
    # Counting tokens never fails: it falls back to the tokenizer-free bound.
    bound = await Model.count_input_tokens(model, MESSAGES)
    assert await model.count_input_tokens(MESSAGES) == bound
    with pytest.raises(ModelNotFoundError, match="could not load"):
        await model.complete(ModelRequest(messages=MESSAGES, max_tokens=4))
    await model.aclose()


embedded = pytest.mark.skipif(
    find_embedded_model() is None, reason="the embedded model is not installed (make install)"
)


@pytest.mark.embedded
@embedded
async def test_embedded_smollm2_completes_and_counts_tokens_exactly() -> None:
    model = LocalModel("local:smollm2", embedded_model_path())
    counted = await model.count_input_tokens(MESSAGES)
    response = await model.complete(
        ModelRequest(messages=MESSAGES, max_tokens=16, temperature=0.0, seed=1, timeout=30)
    )
    await model.aclose()

    assert response.text.strip()
    assert response.model == "local:smollm2"
    assert "usage_estimated" not in response.extra
    assert response.input_tokens > 0
    assert 0 < response.output_tokens <= 16
    # Exact: the server's chat template and tokenizer, as billed by the server itself.
    assert counted == response.input_tokens
    assert counted < await Model.count_input_tokens(model, MESSAGES)


@pytest.mark.embedded
@embedded
async def test_embedded_context_overflow_is_explained() -> None:
    model = LocalModel("local:smollm2", embedded_model_path())
    too_long = (Message("user", "hello " * (model.n_ctx // model.n_parallel + 100)),)
    with pytest.raises(PermanentProviderError, match="CADENZA_LOCAL_CTX"):
        await model.complete(ModelRequest(messages=too_long, max_tokens=4))
    await model.aclose()


@pytest.mark.embedded
@embedded
def test_embedded_model_serves_successive_runs() -> None:
    """Each cadenza.run has its own event loop; the shared model and server serve them all."""
    model = LocalModel("local:smollm2", embedded_model_path())
    request = ModelRequest(messages=MESSAGES, max_tokens=4, temperature=0.0)

    async def one_run() -> list[int]:
        responses = await asyncio.gather(*(model.complete(request) for _ in range(2)))
        return [r.output_tokens for r in responses]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(2):
            assert all(0 < n <= 4 for n in asyncio.run(one_run()))
        gc.collect()


@pytest.mark.embedded
@embedded
async def test_embedded_server_restarts_after_a_shutdown() -> None:
    model = LocalModel("local:smollm2", embedded_model_path())
    request = ModelRequest(messages=MESSAGES, max_tokens=2)
    await model.complete(request)
    shutdown_embedded_servers()
    response = await model.complete(request)  # same loop, same model: a new server
    await model.aclose()
    assert 0 < response.output_tokens <= 2
