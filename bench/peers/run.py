"""The peers, side by side: DSPy BestOfN / Refine, optillm bon and cadenza on one model.

    .venv/bin/python bench/peers/run.py --data ../shared/benchmarks/ifeval/dev.jsonl \\
        --arms single,dspy_bon4,dspy_refine4,optillm_bon,cadenza,cadenza_no_repair \\
        --budget '{"max_tokens": 1400}' --repeat 2 --out runs/peers [--limit N] [--offset K]
        [--concurrency 4] [--max-minutes 25]

Runs in cadenza's environment; the peers run in their own (``bench/peers/.venv``, made by
``make peers-env``), in a worker process (`peers_worker.py`) this script starts. One model
server for every arm: the embedded SmolLM2-135M GGUF served by llama.cpp (xllamacpp) on
loopback, behind a counting proxy (`counting_proxy.py`) that adds up, per arm and prompt, the
tokens the server reports (input + output, every call: samples, revisions, feedback
and rating calls alike).

Arms:

- ``single``: one greedy call (cadenza's ``baseline`` arm of ``cadenza eval ifeval``);
- ``cadenza`` / ``cadenza_no_repair``: cadenza in code mode at ``--budget``, with and
  without deterministic repairs (the same code as ``cadenza eval ifeval``);
- ``dspy_bonN`` / ``dspy_refineN``: DSPy ``BestOfN`` / ``Refine`` with N attempts, the
  reward being the share of the prompt's instructions met by cadenza's exact checks;
- ``optillm_bon`` (optillm's default n = 3) / ``optillm_bonN``: optillm's ``bon``.

Every arm is scored at the end by the IFEval checks of ``cadenza eval ifeval`` (strict
and loose, per instruction). Each (arm, repeat, prompt) is one line of
``OUT/results.jsonl``, written when it finishes: a run stopped (or cut by
``--max-minutes``, which starts nothing new past that time, and then exits with status
3) resumes where it stopped. In slices, each under a shared CPU lock:

    while flock /work/wt/cpu.lock .venv/bin/python bench/peers/run.py ... --max-minutes 25;
          [ $? -eq 3 ]; do sleep 20; done

At the end the pooled table (`peers_summary.py`) goes to ``OUT/summary.md`` and is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from counting_proxy import CountingProxy, serve
from peers_summary import load_rows, markdown, summarize

from cadenza.evals.ifeval import EvalConfig, IFEvalRow, _run_arm
from cadenza.evals.ifeval import load_rows as load_ifeval
from cadenza.models.base import Message
from cadenza.models.local import DEFAULT_PARALLEL, embedded_model_path
from cadenza.models.openai import OpenAICompatibleModel
from cadenza.task import Budget
from cadenza.validators.ifeval import score_response

HERE = Path(__file__).resolve().parent
CADENZA_ARMS = {
    "single": "baseline",
    "cadenza": "cadenza",
    "cadenza_no_repair": "cadenza_no_repair",
}
PEER_ARM = re.compile(r"(dspy_bon|dspy_refine|optillm_bon)(\d*)")
UNFINISHED = 3
"""Exit status when --max-minutes stopped the run before every attempt was done."""
SLOT_CONTEXT = 4096
"""Context tokens per server slot: Refine's feedback prompt (its program, the reward's
code, the prompt, the response twice) needs more than cadenza's default 2,048."""


# -- the model server and cadenza's model behind the proxy ---------------------------------


def start_model_server(n_parallel: int, n_threads: int) -> tuple[Any, str]:
    """The embedded GGUF served by llama.cpp on loopback, as cadenza's LocalModel does."""
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = str(embedded_model_path())
    params.n_parallel = n_parallel
    params.n_ctx = n_parallel * SLOT_CONTEXT
    params.cpuparams.n_threads = n_threads
    params.cpuparams_batch.n_threads = n_threads
    params.port = 0
    params.verbosity = -1
    server = xlc.Server(params)
    return server, str(server.listening_address)


class ProxiedModel(OpenAICompatibleModel):
    """The embedded model reached through the proxy. Like cadenza's LocalModel, it counts
    a prompt's input tokens exactly (the server's chat template, then its tokenizer), so
    cadenza plans its budget as it does on ``local:smollm2``."""

    def __init__(self, base_url: str, http: httpx2.AsyncClient, slots: int) -> None:
        super().__init__("local:smollm2", "smollm2", base_url, "local", slots)
        self._http = http

    async def count_input_tokens(self, messages: tuple[Message, ...]) -> int:
        root = self.base_url.removesuffix("/v1")
        try:
            body = {"messages": [m.as_dict() for m in messages]}
            prompt = (await self._http.post(f"{root}/apply-template", json=body)).json()["prompt"]
            answer = await self._http.post(
                f"{root}/tokenize", json={"content": prompt, "add_special": True}
            )
            return len(answer.json()["tokens"])
        except (httpx2.HTTPError, ValueError, KeyError, TypeError):
            return await super().count_input_tokens(messages)


# -- the peers' worker ------------------------------------------------------------------------


class PeerWorker:
    """`peers_worker.py` in the peers' environment, fed tasks as JSON lines."""

    def __init__(self, python: Path, threads: int, log: Path) -> None:
        if not python.exists():
            raise SystemExit(
                f"no peers environment at {python.parent.parent}: run `make peers-env` "
                "(bench/peers/setup.sh) first"
            )
        self.python, self.threads, self.log = python, threads, log
        self._proc: asyncio.subprocess.Process | None = None
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = 0
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> str:
        log = self.log.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "true"}
        self._proc = await asyncio.create_subprocess_exec(
            str(self.python),
            str(HERE / "peers_worker.py"),
            "--threads",
            str(self.threads),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env=env,
            limit=64 * 1024 * 1024,
        )
        assert self._proc.stdout is not None
        ready = json.loads(await self._proc.stdout.readline() or b'{"ready": false}')
        if not ready.get("ready"):
            raise SystemExit(f"the peers' worker did not start: see {self.log}")
        self._reader = asyncio.create_task(self._read())
        return str(ready.get("dspy"))

    async def run(self, task: dict[str, Any]) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdin is not None
        self._ids += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[self._ids] = future
        self._proc.stdin.write((json.dumps({"id": self._ids, **task}) + "\n").encode())
        await self._proc.stdin.drain()
        return await future

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for line in self._proc.stdout:
            answer = json.loads(line)
            future = self._waiting.pop(answer.pop("id"), None)
            if future is not None and not future.done():
                future.set_result(answer)
        for future in self._waiting.values():
            future.set_exception(RuntimeError(f"the peers' worker stopped: see {self.log}"))

    async def close(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            self._proc.stdin.close()
            await self._proc.wait()
        if self._reader is not None:
            await self._reader


# -- one attempt ------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, rows: list[IFEvalRow]) -> None:
        self.args = args
        self.rows = {r.key: r for r in rows}
        self.budget: str | dict[str, Any] = (
            json.loads(args.budget) if args.budget.lstrip().startswith("{") else args.budget
        )
        Budget.coerce(self.budget)
        self.proxy = CountingProxy("http://127.0.0.1", scorer=self.score)
        self.proxy_url = ""
        self.worker: PeerWorker | None = None
        self.http = httpx2.AsyncClient(timeout=60)

    def score(self, key: str, response: str) -> Mapping[str, Any]:
        row = self.rows[key]
        verdicts = score_response(row.prompt, response, row.instruction_id_list, row.kwargs)
        strict = [s for _, s, _ in verdicts]
        return {"share": sum(strict) / max(1, len(strict)), "strict": strict}

    def budget_of(self, arm: str) -> str | dict[str, Any] | None:
        return self.budget if arm in ("cadenza", "cadenza_no_repair") else None

    async def attempt(self, arm: str, repeat: int, row: IFEvalRow) -> dict[str, Any]:
        tag = f"{arm}.{repeat}.{row.key}"
        base_url = f"{self.proxy_url}/t/{tag}/v1"
        self.proxy.take(tag)  # nothing left from an interrupted attempt
        started = time.monotonic()
        extra: dict[str, Any] = {}
        if arm in CADENZA_ARMS:
            cfg = EvalConfig(
                data=self.args.data,
                out=self.args.out,
                budget=self.budget,
                max_output_tokens=self.args.max_output_tokens,
            )
            model = ProxiedModel(base_url, self.http, self.args.slots)
            outcome = await _run_arm(CADENZA_ARMS[arm], row, cfg, model)
            await model.aclose()
            response, error = outcome.response, None
            extra = {"own_tokens": outcome.tokens, "finish_reason": outcome.finish_reason}
        else:
            assert self.worker is not None
            answer = await self.worker.run(
                {
                    "arm": arm,
                    "key": row.key,
                    "prompt": row.prompt,
                    "base_url": base_url,
                    "score_url": f"{self.proxy_url}/score",
                    "max_tokens": self.args.max_output_tokens,
                }
            )
            response, error, extra = answer["response"], answer["error"], answer["detail"]
        seconds = time.monotonic() - started
        await self.proxy.drain(tag)
        usage = self.proxy.take(tag)
        verdicts = score_response(row.prompt, response, row.instruction_id_list, row.kwargs)
        return {
            "key": row.key,
            "arm": arm,
            "repeat": repeat,
            "budget": self.budget_of(arm),
            "response": response,
            "strict": [s for _, s, _ in verdicts],
            "loose": [lo for _, _, lo in verdicts],
            **usage.as_dict(),
            "seconds": round(seconds, 3),
            "error": error,
            "detail": extra,
        }


def _done(path: Path) -> set[tuple[str, str, int, str]]:
    done = set()
    for row in load_rows([path.parent]):
        budget = json.dumps(row.get("budget"), sort_keys=True)
        done.add((row["arm"], budget, int(row["repeat"]), str(row["key"])))
    return done


def check_arms(arms: list[str]) -> None:
    for arm in arms:
        if arm not in CADENZA_ARMS and not PEER_ARM.fullmatch(arm):
            raise SystemExit(
                f"unknown arm {arm!r}: choose from single, cadenza, cadenza_no_repair, "
                "dspy_bonN, dspy_refineN, optillm_bon, optillm_bonN (N a number)"
            )
        match = PEER_ARM.fullmatch(arm)
        if match and not match.group(2) and match.group(1) != "optillm_bon":
            raise SystemExit(f"arm {arm!r} needs its N, e.g. {arm}4")


async def main_async(args: argparse.Namespace) -> int:
    """Run what is left; 0 when every attempt is done, `UNFINISHED` when some are left."""
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    check_arms(arms)
    all_rows, skipped = load_ifeval(args.data)
    rows = all_rows[args.offset :][: args.limit] if args.limit else all_rows[args.offset :]
    if skipped:
        print(f"skipped {len(skipped)} bad row(s): {skipped[:3]}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    bench = Bench(args, rows)
    results = args.out / "results.jsonl"
    done = _done(results)
    todo = [
        (arm, repeat, row)
        for repeat in range(1, args.repeat + 1)
        for row in rows  # prompt by prompt: a slice leaves every arm on the same prompts
        for arm in arms
        if (arm, json.dumps(bench.budget_of(arm), sort_keys=True), repeat, row.key) not in done
    ]
    print(f"{len(todo)} attempt(s) to run, {len(done)} already in {results}", file=sys.stderr)
    left = 0
    if todo:
        await run_todo(bench, todo, results)
        left = len(todo) - (len(_done(results)) - len(done))
    summaries = summarize(load_rows([args.out]))
    table = markdown(summaries)
    (args.out / "summary.md").write_text(table + "\n", encoding="utf-8")
    (args.out / "summary.json").write_text(
        json.dumps([asdict(s) for s in summaries], indent=2) + "\n", encoding="utf-8"
    )
    print(table)
    if left:
        print(f"{left} attempt(s) left: run the same command again", file=sys.stderr)
        return UNFINISHED
    return 0


async def run_todo(bench: Bench, todo: list[tuple[str, int, IFEvalRow]], results: Path) -> None:
    args = bench.args
    server, upstream = await asyncio.to_thread(start_model_server, args.slots, args.threads)
    bench.proxy.upstream = upstream
    bench.proxy_url, serving, stop = await serve(bench.proxy.app)
    if any(arm not in CADENZA_ARMS for arm, _, _ in todo):
        bench.worker = PeerWorker(args.peers_python, args.concurrency, args.out / "worker.log")
        version = await bench.worker.start()
        print(f"peers' worker up (DSPy {version})", file=sys.stderr)
    deadline = time.monotonic() + 60 * args.max_minutes if args.max_minutes else None
    gate = asyncio.Semaphore(args.concurrency)
    finished = 0

    async def one(arm: str, repeat: int, row: IFEvalRow, sink: Any) -> None:
        nonlocal finished
        async with gate:
            if deadline is not None and time.monotonic() > deadline:
                return
            line = await bench.attempt(arm, repeat, row)
        sink.write(json.dumps(line) + "\n")
        sink.flush()
        finished += 1
        ok = "ok" if all(line["strict"]) else "--"
        print(
            f"[{finished}/{len(todo)}] {arm} #{repeat} {row.key}: {ok} "
            f"{line['tokens']} tokens, {line['calls']} calls, {line['seconds']:.0f} s"
            + (f" ERROR {line['error']}" if line["error"] else ""),
            file=sys.stderr,
        )

    try:
        with results.open("a", encoding="utf-8") as sink:
            await asyncio.gather(*(one(arm, rep, row, sink) for arm, rep, row in todo))
    finally:
        if bench.worker is not None:
            await bench.worker.close()
        await bench.http.aclose()
        stop()
        await serving
        del server


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="IFEval rows (jsonl)")
    parser.add_argument("--arms", required=True, help="comma-separated arms")
    parser.add_argument("--out", type=Path, required=True, help="results folder (resumable)")
    parser.add_argument("--budget", default='{"max_tokens": 1400}', help="cadenza's budget")
    parser.add_argument("--repeat", type=int, default=1, help="runs of every arm")
    parser.add_argument("--limit", type=int, help="at most this many prompts")
    parser.add_argument("--offset", type=int, default=0, help="skip this many prompts first")
    parser.add_argument("--max-output-tokens", type=int, default=512, help="per call")
    parser.add_argument("--concurrency", type=int, default=1, help="attempts at once")
    parser.add_argument("--max-minutes", type=float, help="start nothing new after this")
    parser.add_argument(
        "--slots", type=int, default=DEFAULT_PARALLEL, help="the server's parallel slots"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=max(1, min(4, len(os.sched_getaffinity(0)) // 2)),
        help="the server's CPU threads (cadenza's default: half the CPUs, at most 4)",
    )
    parser.add_argument(
        "--peers-python",
        type=Path,
        default=HERE / ".venv" / "bin" / "python",
        help="the peers' environment's python",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.concurrency < 1 or args.offset < 0:
        parser.error("--repeat and --concurrency must be >= 1, --offset >= 0")
    return args


def main() -> None:
    sys.exit(asyncio.run(main_async(parse_args())))


if __name__ == "__main__":
    main()
