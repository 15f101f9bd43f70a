"""Priors learned across runs: recorded per model x requirement kind x action kind, read
back, blended with the defaults, used by the policy, shown by `cadenza priors`."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import pytest

import cadenza
from cadenza import Requirement, RunOptions
from cadenza.errors import UsageError
from cadenza.planner import Revise, Sample, SearchSettings
from cadenza.planner.actions import Action, ActionKind, SearchView
from cadenza.planner.policy import Policy
from cadenza.planner.priors import (
    FIRST_ANSWER,
    Observation,
    PriorRow,
    PriorSettings,
    Reach,
    apply_priors,
    kind_priors,
    observe,
    out_of_reach,
    reach_of_kinds,
    requirement_kind,
)
from cadenza.planner.state import Candidate, Judged, RunState
from cadenza.priors import default_prior_table
from cadenza.store import opened_store
from cadenza.store.priors import PriorTable, open_prior_table
from cadenza.testing import ScriptedModel
from in_process_cli import run_cli

NO_COMMA = "punctuation:no_comma"


def table_at(tmp_path: Path, name: str = "priors.db") -> PriorTable:
    return open_prior_table(f"sqlite:///{tmp_path / name}")


def obs(action: str, improved: bool, *, kind: str = NO_COMMA, tokens: int = 100) -> Observation:
    return Observation("fake:scripted", kind, action, improved, tokens)


# -- the table ----------------------------------------------------------------------------
def test_the_migration_adds_the_table(tmp_path: Path) -> None:
    with opened_store(f"sqlite:///{tmp_path / 'x.db'}") as store:
        assert "m020_priors" in store.applied_migrations()


def test_recording_adds_counts_and_reads_back(tmp_path: Path) -> None:
    table = table_at(tmp_path)
    table.record([obs("revise", True, tokens=300), obs("revise", False, tokens=200)])
    table.record([obs("revise", True, tokens=100), obs("sample", False, kind="judge")])
    rows = {(r.requirement_kind, r.action): r for r in table.rows()}
    revise = rows[(NO_COMMA, "revise")]
    assert (revise.tried, revise.improved, revise.tokens) == (3, 2, 600)
    assert revise.rate == pytest.approx(2 / 3)
    assert revise.tokens_per_try == 200
    assert rows[("judge", "sample")].tried == 1
    assert [r.action for r in table.rows(requirement_kinds=["judge"])] == ["sample"]
    assert table.rows(models=["other:model"]) == []
    assert table.reset(model="other:model") == 0
    assert table.reset() == 2
    assert table.rows() == []
    table.store.close()


def test_runs_recording_at_once_lose_no_counts(tmp_path: Path) -> None:
    tables = [table_at(tmp_path) for _ in range(2)]  # two "processes" on one file
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(20):
                tables[i % 2].record([obs("revise", True), obs("sample", False)])
        except BaseException as exc:  # pragma: no cover - shown by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = {r.action: r for r in tables[0].rows()}
    assert rows["revise"].tried == rows["revise"].improved == 120
    assert rows["sample"].tried == 120 and rows["sample"].improved == 0
    for t in tables:
        t.store.close()


def test_a_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(UsageError, match=r"cannot be used.*move the file away"):
        open_prior_table(f"sqlite:///{bad}")


def test_unreadable_rows_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    table = table_at(tmp_path)
    table.record([obs("revise", True)])
    with sqlite3.connect(tmp_path / "priors.db") as conn:
        conn.execute(
            "INSERT INTO priors VALUES ('fake:scripted', 'judge', 'sample', 'lots', 1, 1, 0)"
        )
        conn.execute("INSERT INTO priors VALUES ('fake:scripted', 'x', 'sample', -5, 1, 1, 0)")
    with caplog.at_level(logging.WARNING, logger="cadenza.priors"):
        rows = table.rows()
    assert [(r.requirement_kind, r.action) for r in rows] == [(NO_COMMA, "revise")]
    assert "unreadable row" in caplog.text and "negative counts" in caplog.text
    table.store.close()


# -- from counts to a prior ---------------------------------------------------------------
def row(action: str, tried: int, improved: int, kind: str = NO_COMMA) -> PriorRow:
    return PriorRow("fake:scripted", kind, action, tried, improved, tried * 100)


def test_a_few_observations_do_not_swamp_the_default() -> None:
    settings = PriorSettings(pseudo_count=10, max_strength=4)
    few = kind_priors([row("sample", 3, 3)], {"sample": 0.3}, settings)["sample"]
    assert few.mean == pytest.approx((3 + 3) / 13)  # 0.46, not 1.0
    assert few.strength == pytest.approx(1.3)
    many = kind_priors([row("sample", 1000, 50)], {"sample": 0.3}, settings)["sample"]
    assert many.mean == pytest.approx((50 + 3) / 1010)  # the history wins in the end
    assert many.strength == 4  # but weighs like 4 of the run's own actions at most
    # requirement kinds of the run are pooled; unknown action kinds are ignored
    pooled = kind_priors(
        [row("revise", 10, 0), row("revise", 10, 10, kind="judge"), row("other", 5, 5)],
        {"revise": 0.6, "sample": 0.3},
        settings,
    )
    assert set(pooled) == {"revise"}
    assert pooled["revise"].mean == pytest.approx((10 + 6) / 30)
    assert pooled["revise"].tokens_per_try == 100


def test_observe_credits_each_requirement_kind_it_improved() -> None:
    reqs = [
        Requirement(name="a", description="no commas", validator=NO_COMMA),
        Requirement(name="b", description="judged"),
    ]
    state = RunState(reqs)
    parent = Candidate("c1", "x, y", "n1", "sample")
    parent.verdicts = {"a": Judged(0.0, "comma", "code"), "b": Judged(0.4, "meh", "judge:m")}
    new = Candidate("c2", "x y", "n2", "revise", parent="c1")
    new.verdicts = {"a": Judged(1.0, "ok", "code"), "b": Judged(0.4, "meh", "judge:m")}
    got = observe(action="revise", model="m", reference=parent, new=new, tokens=90, state=state)
    assert {(o.requirement_kind, o.improved, o.tokens) for o in got} == {
        (NO_COMMA, True, 90),
        ("judge", False, 90),
    }
    assert [requirement_kind(r) for r in reqs] == [NO_COMMA, "judge"]
    anonymous = Requirement(name="c", description="short", validator=lambda t: len(t) < 9)
    assert requirement_kind(anonymous) is None  # not pooled with every other lambda
    # a repeated answer improves nothing; the first answer (no reference) says what it met
    repeat = observe(action="sample", model="m", reference=parent, new=None, tokens=5, state=state)
    assert not any(o.improved for o in repeat)
    first = observe(action="sample", model="m", reference=None, new=new, tokens=5, state=state)
    assert {(o.requirement_kind, o.action, o.improved) for o in first} == {
        (NO_COMMA, FIRST_ANSWER, True),
        ("judge", FIRST_ANSWER, False),
    }
    assert (
        observe(action="sample", model="m", reference=None, new=None, tokens=5, state=state) == []
    )


def test_the_policy_follows_a_learned_prior() -> None:
    """With the defaults the best candidate is revised first (rule 2); when earlier runs
    say revisions of this kind never help and samples do, a sample comes first."""
    settings = SearchSettings()
    state = RunState([Requirement(name="a", description="no commas", validator=NO_COMMA)])
    c1 = Candidate("c1", "x, y", "n1", "sample")
    c1.verdicts = {"a": Judged(0.0, "comma", "code")}
    state.candidates["c1"] = c1
    state.consider(c1)

    def first_choice(learned: bool) -> str:
        sample, revise = Sample(settings), Revise(settings)
        sample.stats.launched = revise.stats.launched = 1
        if learned:
            priors = kind_priors(
                [row("revise", 200, 0), row("sample", 200, 120)],
                {"sample": sample.prior, "revise": revise.prior},
                PriorSettings(),
            )
            apply_priors([sample, revise], priors)
        pending = (Action(sample),)
        view = SearchView(state=state, settings=settings, pending=pending)
        return Policy([revise, sample]).choose(view)[0].kind.name

    assert first_choice(learned=False) == "revise"
    assert first_choice(learned=True) == "sample"


# -- in a run -----------------------------------------------------------------------------
def no_comma_run(
    table: PriorTable | None,
    *,
    model: ScriptedModel | None = None,
    max_calls: int = 6,
    **options: object,
) -> cadenza.Result:
    """A run whose one requirement is "no commas" (by default: two answers with commas,
    then one without, one call at a time)."""
    model = model or ScriptedModel(["a, b", "c, d", "e f"], max_concurrency=1)
    return cadenza.run(
        "Write two words.",
        [Requirement(description="no commas", validator=NO_COMMA)],
        models=[model],
        budget={"max_calls": max_calls},
        options=RunOptions(
            search=SearchSettings(repairs=False, max_output_tokens=32, focus=False),
            compile_requirements=False,
            prior_table=table,
            **options,  # type: ignore[arg-type]
        ),
    )


def model_calls(result: cadenza.Result) -> list[str]:
    return [n.kind for n in result.trace if n.kind in ("generate", "revise")]


def test_a_run_records_and_a_later_run_uses_the_priors(tmp_path: Path) -> None:
    table = table_at(tmp_path)
    first = no_comma_run(table)
    assert model_calls(first) == ["generate", "revise", "revise"]
    detail = first.trace[0].detail["priors"]
    # 2 revisions; the first answer, pooled and as the first sample's (written blind)
    assert detail["used"] is False and detail["recorded"] == 4
    assert {r.action for r in table.rows()} == {"revise", "first_answer", "first_answer:sample"}
    revise = {r.action: r for r in table.rows()}["revise"]
    assert (revise.tried, revise.improved) == (2, 1)

    # Earlier runs found that revisions of this kind rarely help and samples often do.
    table.record([obs("revise", False)] * 60 + [obs("sample", True)] * 40)
    table.record([obs("sample", False)] * 20)
    later = no_comma_run(table)
    assert model_calls(later) == ["generate", "generate", "generate"]
    used = later.trace[0].detail["priors"]
    assert used["used"] is True and used["requirement_kinds"] == [NO_COMMA]
    assert used["kinds"]["revise"]["tried"] == 62
    assert used["kinds"]["sample"]["prior"] > used["kinds"]["revise"]["prior"]
    table.store.close()


def test_priors_off_neither_read_nor_record(tmp_path: Path) -> None:
    table = table_at(tmp_path)
    table.record([obs("revise", False)] * 60 + [obs("sample", True)] * 40)
    result = no_comma_run(table, priors=False)
    assert model_calls(result) == ["generate", "revise", "revise"]
    assert result.trace[0].detail["priors"] == {"used": False, "reason": "priors are turned off"}
    assert sum(r.tried for r in table.rows()) == 100
    table.store.close()


def test_the_library_keeps_priors_in_the_user_data_directory(_own_data_dir: Path) -> None:
    no_comma_run(None)
    assert (_own_data_dir / "cadenza" / "cadenza.db").exists()
    actions = {r.action for r in default_prior_table().rows()}
    assert actions == {"revise", FIRST_ANSWER, "first_answer:sample"}


def test_a_corrupt_priors_file_never_fails_a_run(
    _own_data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = _own_data_dir / "cadenza" / "cadenza.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"garbage" * 1000)
    with caplog.at_level(logging.WARNING, logger="cadenza.priors"):
        result = no_comma_run(None)
    assert result.result == "e f"
    detail = result.trace[0].detail["priors"]
    assert detail["used"] is False and "cannot be used" in detail["error"]
    assert "goes on without them" in caplog.text


# -- the command line ---------------------------------------------------------------------
def test_cli_priors_show_and_reset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    code, out, _ = run_cli(monkeypatch, capsys, "priors", "show", "--db", url)
    assert code == 0 and "no priors recorded yet" in out
    table = open_prior_table(url)
    table.record([obs("revise", True, tokens=250), obs("revise", False, tokens=150)])
    table.store.close()
    code, out, _ = run_cli(monkeypatch, capsys, "priors", "show", "--db", url)
    assert code == 0
    assert "fake:scripted" in out and NO_COMMA in out and "0.50" in out and "200" in out
    code, out, _ = run_cli(monkeypatch, capsys, "priors", "show", "--db", url, "--json")
    shown = json.loads(out)
    assert shown["rows"][0] == {
        **shown["rows"][0],
        "model": "fake:scripted",
        "requirement_kind": NO_COMMA,
        "action": "revise",
        "tried": 2,
        "improved": 1,
        "tokens": 400,
        "rate": 0.5,
    }
    code, out, _ = run_cli(monkeypatch, capsys, "priors", "reset", "--db", url, "--yes")
    assert code == 0 and "forgot 1 row(s)" in out
    code, out, _ = run_cli(monkeypatch, capsys, "priors", "show", "--db", url, "--json")
    assert json.loads(out)["rows"] == []


def test_cli_priors_show_on_a_corrupt_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not sqlite" * 500)
    code, _, err = run_cli(monkeypatch, capsys, "priors", "show", "--db", f"sqlite:///{bad}")
    assert code == 2 and "cannot be used" in err and "Traceback" not in err


def test_cli_run_no_priors_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], _own_data_dir: Path
) -> None:
    seen: list[RunOptions] = []

    async def fake_arun(*args: object, options: RunOptions, **kw: object) -> cadenza.Result:
        seen.append(options)
        raise UsageError("stop here")

    monkeypatch.setattr("cadenza.cli.run.arun", fake_arun)
    run_cli(monkeypatch, capsys, "run", "hi", "--no-priors", "-m", "fake:echo")
    run_cli(monkeypatch, capsys, "run", "hi", "-m", "fake:echo")
    assert [o.priors for o in seen] == [False, True]


# -- the server ---------------------------------------------------------------------------
def test_the_server_keeps_priors_in_its_own_database(tmp_path: Path, _own_data_dir: Path) -> None:
    from test_server_support import ServerThread, settings, wait_for

    db = tmp_path / "server.db"
    body = {
        "input": "Say hi",
        "requirements": [
            {
                "description": "mention a zebra",
                "validator": "keywords:existence",
                "validator_args": {"keywords": ["zebra"]},
            }
        ],
        "models": ["fake:x"],
        "budget": {"max_calls": 8},
    }
    with ServerThread(settings(db)) as srv, srv.client() as http:
        run_id = http.post("/v1/runs", json=body).json()["id"]
        assert wait_for(http, run_id)["status"] == "completed"
        nodes = http.get(f"/v1/runs/{run_id}/trace").json()["nodes"]
    root = next(n for n in nodes if n["kind"] == "run")
    assert root["detail"]["priors"]["where"] == f"sqlite:///{db}"
    table = open_prior_table(f"sqlite:///{db}")
    rows = table.rows()
    table.store.close()
    # the work on the failing answer: revisions and focused samples, none of them a gain
    assert {(r.model, r.requirement_kind) for r in rows} == {("fake:x", "keywords:existence")}
    assert {r.action for r in rows} <= {"revise", "focus", FIRST_ANSWER, "first_answer:sample"}
    assert all(r.tried >= 1 and r.improved == 0 for r in rows)  # the first answer failed too
    assert not (_own_data_dir / "cadenza").exists()  # nothing in the user's directory


def test_requirement_kinds_never_improved_are_out_of_reach(tmp_path: Path) -> None:
    settings = PriorSettings(out_of_reach_after=20)
    assert out_of_reach([row("revise", 12, 0), row("sample", 8, 0)], settings) == {NO_COMMA}
    assert out_of_reach([row("revise", 19, 0)], settings) == frozenset()
    assert out_of_reach([row("revise", 40, 0), row("sample", 8, 1)], settings) == frozenset()
    assert out_of_reach([row("revise", 40, 0)], PriorSettings(out_of_reach_after=0)) == set()

    table = table_at(tmp_path)
    table.record([obs("revise", False)] * 12 + [obs("sample", False)] * 8)
    result = no_comma_run(table, prior_settings=PriorSettings(explore=0))
    assert model_calls(result) == ["generate"]  # no revision bought for a lost cause
    rr = result.requirements_result
    assert rr.finish_reason == "no_further_improvement"
    assert "earlier runs never improved" in rr.finish_message
    assert result.trace[0].detail["priors"]["out_of_reach"] == [NO_COMMA]
    # record only: the same history changes nothing
    again = no_comma_run(table, prior_settings=PriorSettings(use=False))
    assert model_calls(again) == ["generate", "revise", "revise"]
    assert again.trace[0].detail["priors"]["reason"] == "record only"
    # a share of runs explore (search as usual), so that the verdict can be overturned
    table.reset()
    table.record([obs("revise", False)] * 20)
    exploring = no_comma_run(table, prior_settings=PriorSettings(explore=1))
    assert len(model_calls(exploring)) == 3 and exploring.result == "e f"
    assert exploring.trace[0].detail["priors"]["exploring"] is True
    assert sum(r.improved for r in table.rows()) == 1  # the verdict is overturned
    assert no_comma_run(table, prior_settings=PriorSettings(explore=0)).result == "e f"
    table.store.close()


def test_out_of_reach_from_the_start_buys_one_answer_not_a_wave(tmp_path: Path) -> None:
    table = table_at(tmp_path)

    def wave(**options: object) -> list[str]:
        model = ScriptedModel(["a, b", "c, d", "e, f", "g, h"], max_concurrency=4, delay=0.01)
        return model_calls(no_comma_run(table, model=model, max_calls=4, **options))

    assert len(wave(priors=False)) == 4  # the first wave: every slot at once
    table.record([obs("sample", False)] * 20)
    assert wave(prior_settings=PriorSettings(explore=0)) == ["generate"]
    table.store.close()


def test_out_of_reach_still_lets_the_free_repairs_run(tmp_path: Path) -> None:
    # A requirement no model action improved may still be met by a deterministic repair:
    # stopping the model work must not stop the free fixes.
    table = table_at(tmp_path)
    table.record([obs("sample", False)] * 20 + [obs("revise", False)] * 20)
    model = ScriptedModel(default=lambda req: "a, b")
    result = cadenza.run(
        "Write two words.",
        [Requirement(description="no commas", validator=NO_COMMA)],
        models=[model],
        budget={"max_calls": 4},
        options=RunOptions(
            search=SearchSettings(max_output_tokens=32, focus=False),
            compile_requirements=False,
            prior_table=table,
            prior_settings=PriorSettings(explore=0),
        ),
    )
    assert result.requirements_result.finish_reason == "all_requirements_met"
    assert "," not in result.result
    assert any(n.kind == "repair" for n in result.trace)
    table.store.close()


# -- how far a requirement is within reach --------------------------------------------------
def test_reach_is_the_smoothed_rate_of_kinds_with_enough_history() -> None:
    settings = PriorSettings(out_of_reach_after=10)
    rows = [row("revise", 12, 1), row("sample", 8, 2)]
    assert reach_of_kinds(rows, settings) == {NO_COMMA: pytest.approx(3.5 / 21)}
    assert reach_of_kinds([row("revise", 9, 0)], settings) == {}  # too little history
    assert reach_of_kinds(rows, PriorSettings(min_chance=0)) == {}  # turned off
    assert reach_of_kinds(rows, PriorSettings(out_of_reach_after=0)) == {}
    with pytest.raises(ValueError, match="min_chance"):
        PriorSettings(min_chance=1.5)


def test_reach_chance_over_the_actions_left() -> None:
    reach = Reach({"a": 0.5, "b": 0.2}, min_chance=0.2)
    assert reach.chance(["a"], 1) == pytest.approx(0.5)
    assert reach.chance(["a"], 2) == pytest.approx(0.75)
    # both must be fixed: one action does both with 0.5 x 0.2
    assert reach.chance(["a", "b"], 1) == pytest.approx(0.1)
    assert reach.chance(["a", "b"], 3) == pytest.approx(1 - 0.9**3)
    assert reach.chance(["a", "c"], 3) is None  # "c" has no history: unknown
    assert reach.chance([], 3) is None
    assert reach.chance(["b"], None) == 1.0  # no cap on the budget
    assert reach.chance(["b"], 0) == 0.0
    assert reach.not_worth_it(["a", "b"], 1) and not reach.not_worth_it(["a", "b"], 3)
    assert not reach.not_worth_it(["a", "c"], 0)  # unknown is never given up


def test_a_run_stops_when_the_budget_left_is_unlikely_to_fix_the_failures(
    tmp_path: Path,
) -> None:
    table = table_at(tmp_path)
    # One revision in 40 improved this kind: p = 1.5 / 41 per action.
    table.record([obs("revise", True)] + [obs("revise", False)] * 39)

    def run(max_calls: int, **settings: object) -> cadenza.Result:
        prior_settings = PriorSettings(explore=0, **settings)  # type: ignore[arg-type]
        return no_comma_run(table, max_calls=max_calls, prior_settings=prior_settings)

    # 5 more calls: 1 - (1 - 1.5/41) ** 5 = 17 % < 20 %: nothing more is bought
    short = run(6)
    assert model_calls(short) == ["generate"]
    rr = short.requirements_result
    assert rr.finish_reason == "no_further_improvement"
    assert "seldom improved" in rr.finish_message and "17 %" in rr.finish_message
    detail = short.trace[0].detail["priors"]
    assert detail["reach"] == {NO_COMMA: round(1.5 / 41, 4)}
    # the same history with a larger budget: 29 more calls give a 66 % chance, so it goes on
    long = run(30)
    assert len(model_calls(long)) == 3 and long.result == "e f"
    assert long.requirements_result.finish_reason == "all_requirements_met"
    # turned off, the short budget is spent as before
    off = run(6, min_chance=0)
    assert len(model_calls(off)) == 3 and off.result == "e f"
    table.store.close()


def test_one_call_first_when_earlier_runs_say_one_answer_likely_meets_everything(
    tmp_path: Path,
) -> None:
    table = table_at(tmp_path)

    def first_wave(history: list[Observation], **settings: object) -> cadenza.Result:
        """A run of up to 4 calls on 4 slots, with exactly `history` on record before it."""
        table.reset()
        table.record(history)
        model = ScriptedModel(["a b", "c d", "e f", "g h"], max_concurrency=4, delay=0.01)
        prior_settings = PriorSettings(**{"explore": 0, **settings})  # type: ignore[arg-type]
        return no_comma_run(table, model=model, max_calls=4, prior_settings=prior_settings)

    assert len(model_calls(first_wave([]))) == 4  # no history: every slot at once
    # Earlier runs' first answers met this kind 36 times in 40 (chance 36.5/41 = 0.89).
    pooled = [obs(FIRST_ANSWER, True)] * 36 + [obs(FIRST_ANSWER, False)] * 4
    one = first_wave(pooled)
    assert model_calls(one) == ["generate"] and one.result == "a b"
    detail = one.trace[0].detail["priors"]
    assert detail["one_call_first"] == round(36.5 / 41, 4) and detail["first_kind"] is None
    # a run that explores (revisits give-up verdicts) still starts with one call
    exploring = first_wave(pooled + [obs("sample", True)] * 10, explore=1)
    assert exploring.trace[0].detail["priors"]["exploring"] is True
    assert model_calls(exploring) == ["generate"]
    assert len(model_calls(first_wave(pooled, one_first_at=0))) == 4  # turned off
    assert len(model_calls(first_wave(pooled, one_first_at=0.95))) == 4  # not likely enough
    # Fewer first answers on record than `first_after`: not used.
    assert len(model_calls(first_wave(pooled, first_after=1000))) == 4
    # A history that says a first answer seldom meets it keeps the wave; repairs and
    # revisions that fixed it say nothing of a first answer.
    seldom = [obs(FIRST_ANSWER, True)] * 10 + [obs(FIRST_ANSWER, False)] * 30
    wave = first_wave(seldom + [obs("sample", True)] * 40)
    assert len(model_calls(wave)) == 4
    assert wave.trace[0].detail["priors"]["one_call_first"] is None
    with pytest.raises(ValueError, match="one_first_at"):
        PriorSettings(one_first_at=2)
    with pytest.raises(ValueError, match="first_after"):
        PriorSettings(first_after=0)
    table.store.close()


def test_one_call_first_by_what_each_action_kind_wrote_before_any_check(tmp_path: Path) -> None:
    """A kind's own record of blind first answers overrules the pooled first answers (a
    wave's first answer is whichever call ended first: often not the kind that meets the
    requirements); a run records one such row per call of its first round."""
    table = table_at(tmp_path)
    seldom = [obs(FIRST_ANSWER, True)] * 10 + [obs(FIRST_ANSWER, False)] * 30
    often = [obs(FIRST_ANSWER, True)] * 36 + [obs(FIRST_ANSWER, False)] * 4
    sample_meets = [obs("first_answer:sample", True)] * 18 + [obs("first_answer:sample", False)]

    def first_wave(history: list[Observation]) -> cadenza.Result:
        table.reset()
        table.record(history)
        model = ScriptedModel(["a b", "c, d", "e f", "g h"], max_concurrency=4, delay=0.01)
        settings = PriorSettings(explore=0)
        return no_comma_run(table, model=model, max_calls=4, prior_settings=settings)

    one = first_wave(seldom + sample_meets)
    assert model_calls(one) == ["generate"]
    detail = one.trace[0].detail["priors"]
    assert (detail["one_call_first"], detail["first_kind"]) == (round(18.5 / 20, 4), "sample")
    # the sample kind's own record says it seldom meets this: the wave, whatever the pool says
    sample_fails = [obs("first_answer:sample", False)] * 18 + [obs("first_answer:sample", True)]
    assert len(model_calls(first_wave(often + sample_fails))) == 4
    # the record of a kind this run does not have says nothing: the pooled chance decides
    elsewhere = [obs("first_answer:no_such_kind", True)] * 40
    assert len(model_calls(first_wave(seldom + elsewhere))) == 4
    assert model_calls(first_wave(often + elsewhere)) == ["generate"]
    # what the run above recorded: the blind samples that ended before the first met all
    rows = {r.action: r for r in table.rows()}
    blind = rows["first_answer:sample"]
    assert (blind.tried, blind.improved) == (1, 1) and rows[FIRST_ANSWER].tried == 40 + 1
    # the pooled rows and the kinds' own never count as tries to fix
    assert out_of_reach(table.rows(), PriorSettings(out_of_reach_after=1)) == frozenset()
    table.store.close()


def test_the_policy_starts_with_the_first_kind_it_is_told() -> None:
    class Other(Sample):
        name = "other"

    settings = SearchSettings()
    state = RunState([Requirement(name="a", description="no commas", validator=NO_COMMA)])
    kinds: list[ActionKind] = [Sample(settings), Other(settings)]

    def first(**changes: object) -> str:
        view = SearchView(state=state, settings=replace(settings, **changes), pending=())  # type: ignore[arg-type]
        return Policy(kinds).choose(view)[0].kind.name

    assert first() == "sample"
    assert first(first_kind="other") == "other"
    assert first(first_kind="no_such_kind") == "sample"  # not proposed: the policy's choice
