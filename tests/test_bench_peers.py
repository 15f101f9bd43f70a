"""bench/peers: the counting proxy, cadenza's arms through it, the pooled table, and the
parts of the peers' worker that need no peers environment. No network, no model."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx2
import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cadenza.evals.ifeval import IFEvalRow

PEERS = Path(__file__).resolve().parents[1] / "bench" / "peers"


def _load(name: str) -> ModuleType:
    if str(PEERS) not in sys.path:
        sys.path.insert(0, str(PEERS))
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, PEERS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


proxy_mod = _load("counting_proxy")
summary_mod = _load("peers_summary")
worker_mod = _load("peers_worker")
run_mod = _load("run")


# -- a fake llama.cpp server ------------------------------------------------------------------


class FakeServer:
    """Answers like llama.cpp: one token per word, usage of one choice only when n > 1."""

    def __init__(
        self, replies: list[str] | None = None, status: int = 200, delay_s: float = 0.0
    ) -> None:
        self.replies = replies or ["one two three"]
        self.status = status
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self.cancelled = 0
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/tokenize", self.tokenize, methods=["POST"]),
                Route("/apply-template", self.template, methods=["POST"]),
            ]
        )

    async def chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        try:
            await asyncio.sleep(self.delay_s)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.status != 200:
            return JSONResponse({"error": {"message": "context exceeded"}}, self.status)
        prompt = sum(len(m["content"].split()) + 2 for m in body["messages"])
        n = int(body.get("n", 1))
        texts = [self.replies[i % len(self.replies)] for i in range(n)]
        choices = [
            {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
            for i, t in enumerate(texts)
        ]
        # llama.cpp reports the completion tokens of one choice only (+1: end of sequence)
        done = len(texts[-1].split()) + 1
        usage = {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}
        return JSONResponse(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": choices,
                "usage": usage,
            }
        )

    async def tokenize(self, request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"tokens": list(range(len(body["content"].split())))})

    async def template(self, request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"prompt": " ".join(m["content"] for m in body["messages"])})


def _proxy(fake: FakeServer, **kwargs: Any) -> Any:
    return proxy_mod.CountingProxy(
        "http://upstream", transport=httpx2.ASGITransport(app=fake.app), **kwargs
    )


def _client(proxy: Any) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=proxy.app), base_url="http://p")


def _chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], **extra}


# -- the counting proxy -----------------------------------------------------------------------


async def test_counts_what_the_server_reports_per_tag() -> None:
    fake = FakeServer(["alpha beta"])
    proxy = _proxy(fake)
    async with _client(proxy) as client:
        for tag in ("a.1.1", "a.1.1", "b.1.1"):
            answer = await client.post(f"/t/{tag}/v1/chat/completions", json=_chat("hi there"))
            assert answer.status_code == 200
            assert answer.json()["choices"][0]["message"]["content"] == "alpha beta"
    # prompt: 2 words + 2 per message = 4; completion: 2 words + end of sequence = 3
    a = proxy.take("a.1.1")
    assert (a.calls, a.choices, a.prompt_tokens, a.completion_tokens, a.tokens) == (2, 2, 8, 6, 14)
    assert proxy.take("b.1.1").tokens == 7
    assert proxy.take("a.1.1").tokens == 0  # taken: forgotten
    await proxy.aclose()


async def test_recounts_every_choice_when_n_is_above_one() -> None:
    fake = FakeServer(["one", "two words", "three more words"])
    proxy = _proxy(fake)
    async with _client(proxy) as client:
        answer = await client.post("/t/bon/v1/chat/completions", json=_chat("x", n=3))
    assert len(answer.json()["choices"]) == 3
    usage = proxy.take("bon")
    # the server said 4 (the last choice only); each choice is 1, 2, 3 words + end of sequence
    assert usage.completion_tokens == 2 + 3 + 4
    assert usage.prompt_tokens == 3  # once per request, as the server reports it
    assert (usage.calls, usage.choices, usage.recounted) == (1, 3, 1)
    await proxy.aclose()


async def test_refused_calls_are_relayed_and_counted_as_errors() -> None:
    proxy = _proxy(FakeServer(status=400))
    async with _client(proxy) as client:
        answer = await client.post("/t/r/v1/chat/completions", json=_chat("x"))
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "context exceeded"
    usage = proxy.take("r")
    assert (usage.calls, usage.errors, usage.tokens) == (1, 1, 0)
    await proxy.aclose()


async def test_tokenizer_calls_pass_through_uncounted_and_bad_requests_are_refused() -> None:
    fake = FakeServer()
    proxy = _proxy(fake)
    async with _client(proxy) as client:
        answer = await client.post("/t/c/tokenize", json={"content": "a b c"})
        assert answer.json() == {"tokens": [0, 1, 2]}
        assert proxy.usage("c").calls == 0
        bad_tag = await client.post("/t/a%20b/v1/chat/completions", json=_chat("x"))
        assert bad_tag.status_code == 400
        stream = await client.post("/t/s/v1/chat/completions", json=_chat("x", stream=True))
        assert stream.status_code == 400 and "stream" in stream.json()["error"]["message"]
        not_json = await client.post("/t/s/v1/chat/completions", content=b"{")
        assert not_json.status_code == 400
    assert fake.requests == []
    await proxy.aclose()


async def test_score_answers_with_the_scorer() -> None:
    def scorer(key: str, response: str) -> dict[str, Any]:
        if key != "7":
            raise KeyError(key)
        return {"share": 0.5, "strict": [True, False]}

    proxy = _proxy(FakeServer(), scorer=scorer)
    async with _client(proxy) as client:
        ok = await client.post("/score", json={"key": 7, "response": "text"})
        assert ok.json() == {"share": 0.5, "strict": [True, False]}
        assert (await client.post("/score", json={"key": 8, "response": ""})).status_code == 404
        assert (await client.post("/score", json={"key": 7})).status_code == 400
    await proxy.aclose()


async def test_an_openai_client_works_through_the_proxy_on_loopback() -> None:
    fake = FakeServer(["served"])
    proxy = _proxy(fake)
    url, task, stop = await proxy_mod.serve(proxy.app)
    try:
        assert url.startswith("http://127.0.0.1:")
        client = openai.AsyncOpenAI(base_url=f"{url}/t/sdk/v1", api_key="x", max_retries=0)
        completion = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hello"}], max_tokens=8
        )
        await client.close()
        assert completion.choices[0].message.content == "served"
        assert proxy.take("sdk").tokens == completion.usage.total_tokens  # type: ignore[union-attr]
    finally:
        stop()
        await task


async def test_a_call_the_client_gives_up_is_cancelled_upstream_and_its_prompt_counted() -> None:
    fake = FakeServer(delay_s=30)
    proxy = _proxy(fake)
    url, task, stop = await proxy_mod.serve(proxy.app)
    try:
        async with httpx2.AsyncClient(base_url=url, timeout=0.3) as client:
            with pytest.raises(httpx2.TimeoutException):
                await client.post("/t/gone/v1/chat/completions", json=_chat("four words in here"))
        await proxy.drain("gone", timeout_s=10)
        usage = proxy.take("gone")
    finally:
        stop()
        await task
    # the fake's template joins the contents; its tokenizer counts words
    assert (usage.calls, usage.cancelled, usage.prompt_tokens, usage.completion_tokens) == (
        1,
        1,
        4,
        0,
    )
    assert fake.cancelled == 1  # the upstream request was cancelled, not left generating


# -- cadenza's arms through the proxy ---------------------------------------------------------


async def test_cadenza_arm_tokens_at_the_proxy_equal_cadenzas_own_usage(tmp_path: Path) -> None:
    # Replies that never pass: no early stop, so no call is cancelled half-way (cadenza
    # then bills a call's input it may not have sent; the proxy counts what arrived).
    fake = FakeServer(["a reply, with a comma"])
    args = run_mod.parse_args(
        [
            "--data",
            str(tmp_path / "d.jsonl"),
            "--arms",
            "cadenza_no_repair",
            "--out",
            str(tmp_path),
            "--budget",
            '{"max_tokens": 300}',
            "--max-output-tokens",
            "32",
        ]
    )
    row = IFEvalRow("5", "Write a reply. Do not use any commas.", ["punctuation:no_comma"], [{}])
    bench = run_mod.Bench(args, [row])
    bench.proxy = _proxy(fake, scorer=bench.score)
    url, task, stop = await proxy_mod.serve(bench.proxy.app)
    bench.proxy_url = url
    try:
        line = await bench.attempt("cadenza_no_repair", 1, row)
        single = await bench.attempt("single", 1, row)
    finally:
        stop()
        await task
        await bench.http.aclose()
    assert line["strict"] == [False] and line["budget"] == {"max_tokens": 300}
    assert line["calls"] > 1 and line["tokens"] == line["detail"]["own_tokens"] > 0
    assert single["calls"] == 1 and single["budget"] is None
    assert single["tokens"] == single["detail"]["own_tokens"]
    assert fake.requests[-1]["temperature"] == 0.0  # the single call is greedy
    assert bench.score("5", "a, b") == {"share": 0.0, "strict": [False]}


async def test_proxied_model_counts_input_tokens_with_the_servers_tokenizer() -> None:
    fake = FakeServer()
    proxy = _proxy(fake)
    async with _client(proxy) as http:
        model = run_mod.ProxiedModel("http://p/t/m/v1", http, 4)
        from cadenza.models.base import Message

        n = await model.count_input_tokens((Message("user", "one two three"),))
    assert n == 3 and proxy.usage("m").calls == 0
    await proxy.aclose()


def test_arms_are_checked() -> None:
    run_mod.check_arms(["single", "dspy_bon4", "dspy_refine8", "optillm_bon", "optillm_bon4"])
    for bad in ("dspy_bon", "bon4", "cadenza_x"):
        with pytest.raises(SystemExit):
            run_mod.check_arms([bad])


# -- the pooled table -------------------------------------------------------------------------


def _row(arm: str, repeat: int, key: str, strict: list[bool], tokens: int, **kw: Any) -> Any:
    return {
        "arm": arm,
        "repeat": repeat,
        "key": key,
        "strict": strict,
        "loose": strict,
        "tokens": tokens,
        "prompt_tokens": tokens // 2,
        "completion_tokens": tokens - tokens // 2,
        "calls": 2,
        "seconds": 1.0,
        "errors": 0,
        "budget": kw.get("budget"),
    }


def test_summary_pools_repeats_with_their_spread(tmp_path: Path) -> None:
    rows = [
        _row("dspy_bon4", 1, "1", [True, True], 100),
        _row("dspy_bon4", 1, "2", [True, False], 300),
        _row("dspy_bon4", 2, "1", [True], 200),
        _row("dspy_bon4", 2, "2", [True], 200),
        _row("dspy_bon4", 2, "3", [True], 999),  # not in run 1: left out of both
        _row("cadenza", 1, "1", [False], 50, budget={"max_tokens": 1400}),
    ]
    (tmp_path / "results.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows) + '{"cut sho'
    )
    summaries = {s.arm: s for s in summary_mod.summarize(summary_mod.load_rows([tmp_path]))}
    bon = summaries["dspy_bon4"]
    # runs: 50 % and 100 % -> mean 75 %, lowest 50 %, highest 100 %
    assert (bon.runs, bon.prompts) == (2, 2)
    assert (bon.prompt_strict, bon.lowest, bon.highest) == (0.75, 0.5, 1.0)
    assert bon.tokens == 200 and bon.calls == 2
    assert bon.instruction_strict == pytest.approx((0.75 + 1.0) / 2)
    assert bon.interval[0] <= 0.75 <= bon.interval[1]
    cadenza = summaries['cadenza {"max_tokens": 1400}']
    assert (cadenza.runs, cadenza.prompt_strict) == (1, 0.0)
    table = summary_mod.markdown(summaries.values())
    assert "| dspy_bon4 | 2 | 2 | 75.0 % | 50.0–100.0 % |" in table
    assert "200 (100 + 100)" in table
    # paired with cadenza on the one prompt both finished: 100 % against 0 %
    paired = {s.arm: s for s in summary_mod.summarize(rows, versus="dspy_bon4")}
    assert paired['cadenza {"max_tokens": 1400}'].versus == (-1.0, -1.0, -1.0, 1)
    assert paired["dspy_bon4"].versus is None
    assert "-100.0 pts [-100.0, -100.0] on 1" in summary_mod.markdown(paired.values(), "dspy_bon4")


def test_resume_skips_what_is_done(tmp_path: Path) -> None:
    rows = [_row("single", 1, "1", [True], 10), _row("cadenza", 1, "1", [True], 10, budget="low")]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = run_mod._done(tmp_path / "results.jsonl")
    assert ("single", "null", 1, "1") in done
    assert ("cadenza", '"low"', 1, "1") in done
    assert ("cadenza", '{"max_tokens": 1400}', 1, "1") not in done


# -- the peers' worker, without the peers' environment ---------------------------------------


def test_worker_reads_n_from_the_arm() -> None:
    assert worker_mod._n("dspy_bon4") == 4
    assert worker_mod._n("dspy_refine12") == 12
    assert worker_mod._n("optillm_bon") == 3  # optillm's default
    with pytest.raises(ValueError):
        worker_mod._n("dspy_bon")


def test_worker_reads_refines_module_names() -> None:
    assert worker_mod._module_names({"module_names": '[\n  "respond"\n]'}) == ["respond"]
    assert worker_mod._module_names({"module_names": ["a", "b"]}) == ["a", "b"]
    assert worker_mod._module_names({}) == []


def test_optillm_bon_loads_without_running_the_package_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "optillm"
    package.mkdir()
    (package / "__init__.py").write_text("raise ImportError('the heavy __init__ ran')\n")
    (package / "conversation_logger.py").write_text("calls = []\n")
    (package / "bon.py").write_text(
        "import optillm\nfrom optillm import conversation_logger\n\n"
        "def best_of_n_sampling(system_prompt, initial_query, client, model, n=3,\n"
        "                       request_config=None, request_id=None):\n"
        "    return f'{initial_query}:{n}', conversation_logger.calls\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("optillm", "optillm.bon", "optillm.conversation_logger"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    try:
        best_of_n = worker_mod.load_optillm_bon()
        assert best_of_n("", "q", None, "m", 4) == ("q:4", [])
        assert sys.modules["optillm.bon"].__file__ == str(package / "bon.py")
    finally:
        for name in ("optillm", "optillm.bon", "optillm.conversation_logger"):
            sys.modules.pop(name, None)


async def test_a_run_cut_short_says_so_in_its_exit_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "dev.jsonl"
    rows = [
        {
            "key": k,
            "prompt": "Say it. No commas.",
            "instruction_id_list": ["punctuation:no_comma"],
            "kwargs": [{}],
        }
        for k in (1, 2)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    ran: list[int] = []

    async def one_at_a_time(bench: Any, todo: list[Any], results: Path) -> None:
        ran.append(len(todo))
        arm, repeat, row = todo[0]
        with results.open("a") as sink:
            sink.write(json.dumps(_row(arm, repeat, row.key, [True], 10)) + "\n")

    monkeypatch.setattr(run_mod, "run_todo", one_at_a_time)
    args = run_mod.parse_args(["--data", str(data), "--arms", "single", "--out", str(out)])
    assert await run_mod.main_async(args) == run_mod.UNFINISHED
    assert await run_mod.main_async(args) == 0
    assert await run_mod.main_async(args) == 0  # nothing left: run_todo is not called
    assert ran == [2, 1]
    assert "| single | 1 | 2 | 100.0 % |" in (out / "summary.md").read_text()


def test_summary_adds_cadenza_eval_folders_as_runs(tmp_path: Path) -> None:
    peers = tmp_path / "peers"
    peers.mkdir()
    (peers / "results.jsonl").write_text(
        "".join(
            json.dumps(r) + "\n"
            for r in [
                _row("dspy_bon4", 1, "1", [True], 1000),
                _row("dspy_bon4", 1, "2", [False], 1000),
                _row("dspy_bon4", 1, "3", [False], 1000),
            ]
        )
    )
    folders = []
    for n, met in enumerate(([True, True], [True, False])):
        folder = tmp_path / f"eval{n}"
        folder.mkdir()
        (folder / "report.json").write_text(json.dumps({"budget": {"max_tokens": 1400}}))
        (folder / "results.jsonl").write_text(
            "".join(
                json.dumps(
                    {
                        "key": k,
                        "arm": "cadenza_no_repair",
                        "strict": [ok],
                        "loose": [ok],
                        "tokens": 500,
                        "calls": 3,
                        "seconds": 2.0,
                    }
                )
                + "\n"
                for k, ok in zip(("1", "2"), met, strict=True)
            )
        )
        folders.append(folder)
    rows = summary_mod.load_rows([peers]) + summary_mod.load_eval_rows(folders)
    label = 'cadenza_no_repair {"max_tokens": 1400}'
    got = {s.arm: s for s in summary_mod.summarize(rows, versus="dspy_bon4", common=True)}
    cad = got[label]
    # two runs (folders), on the two prompts every run of every arm finished
    assert (cad.runs, cad.prompts) == (2, 2)
    assert (cad.prompt_strict, cad.lowest, cad.highest) == (0.75, 0.5, 1.0)
    assert cad.input_tokens is None and cad.tokens == 500
    assert got["dspy_bon4"].prompts == 2  # prompt "3" is not everywhere
    assert cad.versus is not None and cad.versus[0] == pytest.approx(0.75 - 0.5)
    table = summary_mod.markdown(got.values(), "dspy_bon4")
    assert f"| {label} | 2 | 2 | 75.0 % | 50.0–100.0 % |" in table and "| 500 |" in table
    # without --common, bon4 keeps its three prompts
    assert {s.arm: s for s in summary_mod.summarize(rows)}["dspy_bon4"].prompts == 3
    with pytest.raises(SystemExit, match=r"report\.json"):
        summary_mod.load_eval_rows([peers])
