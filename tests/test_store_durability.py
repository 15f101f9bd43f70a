"""The store under faults and over time (SQLite): one run's failed write costs no other run
anything, prompts are stored once per run, summaries stay small, old runs can be pruned,
and runs a killed process left behind are closed with their nodes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cadenza.errors import UsageError
from cadenza.store import (
    Fault,
    FinishRun,
    FlakyStore,
    InsertRun,
    NodeRow,
    RunRecord,
    RunStatus,
    StoreWriter,
    UpsertNodes,
    input_preview,
    open_store,
    parse_duration,
    prune_older_than,
)
from cadenza.store.sqlite import SqliteStore
from cadenza.store.writer import DiscardedRunError

BIG = " ".join(str(i) for i in range(40_000))  # 229 KB that repeats nowhere


def node(i: int, status: str = "running", **kw: Any) -> dict[str, Any]:
    return {
        "id": f"n{i}",
        "parent": None if i == 0 else "n0",
        "kind": "run" if i == 0 else "generate",
        "status": status,
        **kw,
    }


def record(run_id: str, status: RunStatus = "in_progress", **kw: Any) -> RunRecord:
    now = kw.pop("now", time.time())
    return RunRecord(
        id=run_id,
        source="api",
        status=status,
        created_at=now,
        updated_at=now,
        finished_at=None if status == "in_progress" else now,
        request=kw.pop("request", {"input": "hi"}),
        **kw,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    assert isinstance(s, SqliteStore)
    s.migrate()
    yield s
    s.close()


def sql(store: SqliteStore, query: str, *params: Any) -> list[Any]:
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute(query, params).fetchall()
    conn.close()
    return rows


# -- item 9: a failure of one run's write never loses or fails another run's writes ----
@pytest.mark.parametrize("inline", [True, False], ids=["inline", "thread"])
async def test_one_runs_failed_write_costs_other_runs_nothing(
    store: SqliteStore, inline: bool
) -> None:
    # b's node writes fail twice: in the batch they share with a and c, then on their own
    flaky = FlakyStore(store, Fault(UpsertNodes, run_id="b", times=2))
    writer = StoreWriter(flaky, inline=inline)
    writer.start()
    await asyncio.gather(
        *(writer.commit(InsertRun(record(r), [NodeRow.of(0, node(0))])) for r in "abc")
    )
    for r in "abc":
        writer.submit(UpsertNodes(r, [NodeRow.of(1, node(1))]))
    finished = [writer.commit(FinishRun(record(r, "completed", result=r))) for r in "abc"]
    results = await asyncio.gather(*finished, return_exceptions=True)
    assert [type(r).__name__ for r in results] == ["NoneType", "OperationalError", "NoneType"]
    for r in "ac":
        got = store.get_run(r)
        assert got is not None and (got.status, got.result) == ("completed", r)
        assert [n["id"] for n in store.get_nodes(r)] == ["n0", "n1"]
    b = store.get_run("b")
    assert b is not None and b.status == "in_progress"
    # b lost an unawaited node write: its final write must carry the whole tree
    assert writer.lost_writes == {"b"}
    await writer.commit(
        FinishRun(record("b", "completed"), [NodeRow.of(0, node(0)), NodeRow.of(1, node(1))])
    )
    assert [n["id"] for n in store.get_nodes("b")] == ["n0", "n1"]
    assert writer.lost_writes == set()
    await writer.close()


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "thread"])
async def test_a_run_whose_insert_failed_writes_nothing_more(
    store: SqliteStore, inline: bool
) -> None:
    flaky = FlakyStore(store, Fault(InsertRun, run_id="gone", times=None))
    writer = StoreWriter(flaky, inline=inline)
    writer.start()
    created = writer.commit(InsertRun(record("gone")))
    other = writer.commit(InsertRun(record("other"), [NodeRow.of(0, node(0))]))
    for i in range(20):  # what a run's task might still write before it is stopped
        writer.submit(UpsertNodes("gone", [NodeRow.of(i, node(i))]))
    with pytest.raises(sqlite3.OperationalError):
        await created
    await other
    failures = writer.failures
    for i in range(20):
        writer.submit(UpsertNodes("gone", [NodeRow.of(i, node(i))]))
    await writer.commit(UpsertNodes("other", [NodeRow.of(1, node(1))]))
    assert writer.failures == failures  # nothing failed on the foreign key
    assert len(flaky.failed) <= 2  # the batch with the insert, then the run on its own
    assert [n["id"] for n in store.get_nodes("other")] == ["n0", "n1"]
    writer.discard("other")  # the server gives up on a run: what is queued is dropped
    with pytest.raises(DiscardedRunError):
        await writer.commit(UpsertNodes("other", [NodeRow.of(2, node(2))]))
    assert len(store.get_nodes("other")) == 2
    await writer.close()


def test_flaky_store_picks_writes_by_kind_run_and_count(store: SqliteStore) -> None:
    flaky = FlakyStore(store, Fault(FinishRun, nth=2, times=2))
    flaky.apply([InsertRun(record(r)) for r in "xyz"])
    flaky.apply([FinishRun(record("x", "completed"))])  # the first run finished: passes
    for _ in range(2):
        with pytest.raises(sqlite3.OperationalError, match="injected"):
            flaky.apply([FinishRun(record("y", "completed"))])
    flaky.apply([FinishRun(record("y", "completed"))])  # fired twice: done
    flaky.apply([FinishRun(record("z", "completed"))])
    assert [r.status for r in flaky.list_runs()] == ["completed"] * 3
    assert flaky.faults[0].fired == 2


# -- item 11: a run left in progress is closed with its nodes -------------------------
def test_mark_interrupted_closes_the_runs_nodes(store: SqliteStore) -> None:
    rows = [NodeRow.of(0, node(0)), NodeRow.of(1, node(1, "ok")), NodeRow.of(2, node(2))]
    store.apply([InsertRun(record("left"), rows), InsertRun(record("done"), rows)])
    store.apply([FinishRun(record("done", "completed"))])
    assert store.mark_interrupted() == 1
    left = {n["id"]: n for n in store.get_nodes("left")}
    assert (left["n0"]["status"], left["n0"]["error"]) == ("failed", "interrupted")
    assert (left["n2"]["status"], left["n2"]["error"]) == ("failed", "interrupted")
    assert left["n1"]["status"] == "ok" and "error" not in left["n1"]
    # the status column (what the server filters on) says so too
    assert sql(store, "SELECT run_id, count(*) FROM nodes WHERE status = 'running'") == [
        ("done", 2)
    ]
    # a finished run's nodes are not the interruption's business
    assert [n["status"] for n in store.get_nodes("done")] == ["running", "ok", "running"]


# -- item 12: prompts once per run, summaries, pruning --------------------------------
def test_a_prompt_is_stored_once_per_run_and_read_back_whole(store: SqliteStore) -> None:
    prompt = [{"role": "system", "content": "be brief"}, {"role": "user", "content": BIG}]
    nodes = [node(0)] + [
        node(i, "ok", messages=prompt, response=f"answer {i}", scores={"r": 0.5})
        for i in range(1, 6)
    ]
    nodes.append(
        node(6, "ok", messages=[*prompt, {"role": "assistant", "content": "a"}], response="b")
    )
    nodes.append(node(7, "ok", messages=[], response=None))
    store.apply([InsertRun(record("p", request={"input": BIG}), [NodeRow.of(0, nodes[0])])])
    for i, n in enumerate(nodes[1:], 1):  # as a run writes them: started, then finished
        store.apply([UpsertNodes("p", [NodeRow.of(i, {**n, "status": "running"})])])
        store.apply([UpsertNodes("p", [NodeRow.of(i, n)])])
    got = store.get_nodes("p")
    assert got == nodes
    assert [json.dumps(n) for n in got] == [json.dumps(n) for n in nodes]  # same key order
    node_bytes = sql(store, "SELECT sum(length(data)) FROM nodes WHERE run_id = 'p'")[0][0]
    message_bytes = sql(store, "SELECT sum(length(data)) FROM run_messages")[0][0]
    assert node_bytes < 5_000  # references, not the 229 KB prompt seven times
    assert len(BIG) < message_bytes < len(BIG) + 1_000  # the big message once
    # its four 64 KiB pieces, the system prompt, and the assistant turn
    assert sql(store, "SELECT count(*) FROM run_messages") == [(6,)]


def test_nodes_stored_with_inline_messages_still_read(store: SqliteStore) -> None:
    store.apply([InsertRun(record("old"))])
    legacy = node(1, "ok", messages=[{"role": "user", "content": "hi"}])
    with sqlite3.connect(store.path) as conn:
        conn.execute(
            "INSERT INTO nodes (run_id, node_id, position, parent, kind, status, data) "
            "VALUES ('old', 'n1', 1, 'n0', 'generate', 'ok', ?)",
            (json.dumps(legacy),),
        )
    conn.close()
    assert store.get_nodes("old") == [legacy]


def test_summaries_carry_no_request(store: SqliteStore) -> None:
    rr = {"score": 0.75, "finish_reason": "threshold_reached", "requirements": [{"x": BIG}]}
    store.apply([InsertRun(record("s", request={"input": BIG}))])
    store.apply([FinishRun(record("s", "completed", result=BIG, requirements_result=rr))])
    store.apply(
        [InsertRun(record("chat", request={"messages": [{"role": "user", "content": "hey"}]}))]
    )
    chat, s = store.list_runs()
    assert (s.id, s.score, s.finish_reason, s.status) == (
        "s",
        0.75,
        "threshold_reached",
        "completed",
    )
    assert s.input_preview == BIG[:200]
    assert chat.input_preview == "user: hey" and chat.score is None
    assert len(repr(s)) < 1_000


def test_summaries_of_runs_stored_before_the_summary_columns(store: SqliteStore) -> None:
    rr = {"score": 1.0, "finish_reason": "all_requirements_met", "requirements": []}
    store.apply([InsertRun(record("legacy", "completed", requirements_result=rr))])
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE runs SET preview = NULL, score = NULL, finish_reason = NULL")
    conn.close()
    (s,) = store.list_runs()
    assert (s.input_preview, s.score, s.finish_reason) == ("hi", 1.0, "all_requirements_met")


def test_input_preview() -> None:
    assert input_preview({"input": "a\x00b\ud800"}) == "a\ufffdb\ufffd"
    msgs = [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text"}]}]
    assert input_preview({"input": msgs}) == 'system: s\nuser: [{"type": "text"}]'
    assert input_preview({"input": "y" * 999}) == "y" * 200
    assert input_preview({}) == "" and input_preview(None) == ""


def test_prune_deletes_old_finished_runs_with_their_nodes(store: SqliteStore) -> None:
    day = 86400.0
    now = time.time()
    prompt = [{"role": "user", "content": "a prompt"}]
    for name, age, status in [
        ("old-done", 40, "completed"),
        ("old-failed", 31, "failed"),
        ("recent", 3, "completed"),
        ("old-running", 40, "in_progress"),
    ]:
        rows = [NodeRow.of(0, node(0)), NodeRow.of(1, node(1, "ok", messages=prompt))]
        store.apply([InsertRun(record(name, now=now - age * day), rows)])
        if status != "in_progress":
            store.apply([FinishRun(record(name, status, now=now - age * day))])
    assert prune_older_than(store, parse_duration("30d"), now=now) == 2
    assert {r.id for r in store.list_runs()} == {"recent", "old-running"}
    assert sql(store, "SELECT DISTINCT run_id FROM nodes ORDER BY run_id") == [
        ("old-running",),
        ("recent",),
    ]
    assert sql(store, "SELECT DISTINCT run_id FROM run_messages ORDER BY run_id") == [
        ("old-running",),
        ("recent",),
    ]
    assert prune_older_than(store, parse_duration("30d"), now=now) == 0
    for i in range(7):  # more than one batch
        store.apply([InsertRun(record(f"b{i}")), FinishRun(record(f"b{i}", "completed"))])
    assert store.prune(time.time() + 1, batch=3) == 8
    assert [r.id for r in store.list_runs()] == ["old-running"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("45s", 45), ("2w", 1209600),
     ("1d12h", 129600), ("0.5h", 1800), (" 7D ", 7 * 86400)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "d", "0d", "-1d", "1y", "1.2.3h", "h1", "1d 2h"])
def test_parse_duration_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(UsageError, match="not a duration: write a number and a unit"):
        parse_duration(text)
