"""The `constrained_sample` action kind: proposed only when the requirements make a grammar
and a model enforces grammars, weighed by the policy like any other kind, marked in the
trace; `--no-constrain` / `SearchSettings(constrain=False)`; IFEval arms without it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import cadenza
from cadenza import Requirement, RunOptions
from cadenza.evals.ifeval import EvalConfig, run_ifeval
from cadenza.models.base import ModelRequest, ModelResponse
from cadenza.models.constraints import FORMAT_DROPPED
from cadenza.models.registry import register_provider, unregister_provider
from cadenza.planner import (
    ConstrainedSample,
    Policy,
    Revise,
    Sample,
    SearchSettings,
    SearchView,
)
from cadenza.planner.grammar import ExactRequirement, requirements_grammar
from cadenza.planner.state import RunState
from cadenza.testing import ScriptedModel
from test_cli import run_cli

REQS = [
    Requirement(name="lower", description="all lowercase", validator="lowercase"),
    Requirement(name="no_commas", description="no commas", validator="no_commas"),
]


def answer(request: ModelRequest) -> str:
    """What a model held to the grammar writes, and what it writes free."""
    fmt = request.response_format
    if fmt is not None and fmt.kind == "grammar":
        return "the sea is wide and deep."
    return "The sea, it is wide."


def options(**search: object) -> RunOptions:
    return RunOptions(search=SearchSettings(repairs=False, **search))  # type: ignore[arg-type]


def grammar_requests(model: ScriptedModel) -> list[ModelRequest]:
    return [
        r
        for r in model.generation_requests
        if r.response_format is not None and r.response_format.kind == "grammar"
    ]


async def test_a_model_that_enforces_grammars_gets_constrained_samples() -> None:
    model = ScriptedModel(default=answer, formats=("grammar",), max_concurrency=1)
    result = await cadenza.arun(
        "Write about the sea.", REQS, budget={"max_calls": 6}, models=[model], options=options()
    )
    assert result.requirements_result.finish_reason == "all_requirements_met"
    assert result.result == "the sea is wide and deep."
    sent = grammar_requests(model)
    assert sent and "root ::=" in (sent[0].response_format.grammar or "")  # type: ignore[union-attr]
    nodes = [n for n in result.trace if n.detail.get("constrained") == "grammar"]
    assert nodes and all(n.kind == "generate" for n in nodes)
    assert nodes[0].detail["grammar"] == {"enforces": ["lower", "no_commas"], "not_enforced": {}}
    assert nodes[0].candidate_id == result.best_candidate_id


@pytest.mark.parametrize(
    ("formats", "settings", "reqs", "output_type"),
    [
        ((), {}, REQS, None),  # the model enforces no grammar
        (("grammar",), {"constrain": False}, REQS, None),  # switched off
        (("grammar",), {}, [Requirement(description="Be kind")], None),  # nothing exact
        (("grammar", "json_schema"), {}, REQS, dict[str, int]),  # the schema constrains
    ],
    ids=["no support", "switched off", "judged only", "typed result"],
)
async def test_no_constrained_sample_when_it_has_nothing_to_do(
    formats: tuple[str, ...],
    settings: dict[str, object],
    reqs: list[Requirement],
    output_type: object,
) -> None:
    model = ScriptedModel(default=answer, formats=formats, judge=lambda r, t: 1.0)
    result = await cadenza.arun(
        "Write about the sea.",
        reqs,
        budget={"max_calls": 4},
        models=[model],
        output_type=output_type,
        options=options(**settings),
    )
    assert not grammar_requests(model)
    generated = [n for n in result.trace if n.kind in ("generate", "revise")]
    assert generated and not [n for n in generated if n.detail.get("constrained") == "grammar"]


async def test_unenforced_requirements_are_named_in_the_trace() -> None:
    model = ScriptedModel(default=answer, formats=("grammar",), max_concurrency=1)
    reqs = [
        *REQS,
        Requirement(
            name="end",
            description="end with 'Bye, now'",
            validator="startend:end_checker",
            validator_args={"end_phrase": "Bye, now"},
        ),
        Requirement(name="kind", description="Be kind"),
    ]
    result = await cadenza.arun(
        "Write about the sea.", reqs, budget={"max_calls": 3}, models=[model], options=options()
    )
    node = next(n for n in result.trace if n.detail.get("constrained") == "grammar")
    assert node.detail["grammar"]["enforces"] == ["lower", "no_commas"]
    assert "','" in node.detail["grammar"]["not_enforced"]["end"]
    assert list(node.detail["grammar"]["not_enforced"]) == ["end"]  # a judged one is not named


async def test_mandatory_requirements_win_a_conflict() -> None:
    model = ScriptedModel(default=answer, formats=("grammar",), max_concurrency=1)
    reqs = [
        Requirement(name="up", description="capitals", validator="uppercase"),
        Requirement(name="low", description="lowercase", validator="lowercase", is_mandatory=True),
    ]
    result = await cadenza.arun(
        "Write.", reqs, budget={"max_calls": 2}, models=[model], options=options()
    )
    node = next(n for n in result.trace if n.detail.get("constrained") == "grammar")
    assert node.detail["grammar"]["enforces"] == ["low"]
    assert list(node.detail["grammar"]["not_enforced"]) == ["up"]


class RefusingModel(ScriptedModel):
    """Claims grammars, but its server refuses them (and answers unconstrained)."""

    async def complete(self, request: ModelRequest) -> ModelResponse:
        response = await super().complete(request)
        if request.response_format is not None and request.response_format.kind == "grammar":
            response.extra["constraint_gaps"] = [FORMAT_DROPPED]
        return response


async def test_a_refused_grammar_is_marked_and_not_tried_again() -> None:
    model = RefusingModel(default="The sea, it is wide.", formats=("grammar",), max_concurrency=1)
    result = await cadenza.arun(
        "Write about the sea.", REQS, budget={"max_calls": 5}, models=[model], options=options()
    )
    nodes = [n for n in result.trace if n.detail.get("constrained") == "grammar"]
    assert len(nodes) == 1 and nodes[0].detail["grammar"]["refused"] is True
    assert len(grammar_requests(model)) == 1
    assert len(model.generation_requests) > 1  # the run went on without it


def test_the_policy_weighs_constrained_samples_by_what_they_gained() -> None:
    settings = SearchSettings()
    assert requirements_grammar([]) is None
    g = requirements_grammar([ExactRequirement("a", "no_commas")])
    assert g is not None
    constrained, sample = ConstrainedSample(settings, g, [0]), Sample(settings)
    policy = Policy([Revise(settings), sample, constrained])
    view = SearchView(state=RunState(list(REQS)), settings=settings)
    # before any evidence its prior (0.5) beats a sample's (0.3)
    assert policy.choose(view)[0].kind is constrained
    # it was tried 6 times and never gave a new best; samples did twice in 6
    constrained.stats.tried, constrained.stats.improved = 6, 0
    sample.stats.tried, sample.stats.improved = 6, 2
    assert policy.choose(view)[0].kind is sample


@pytest.fixture
def grammar_provider() -> Iterator[list[ScriptedModel]]:
    made: list[ScriptedModel] = []

    def factory(name: str, model: str) -> ScriptedModel:
        m = ScriptedModel(name=name, default=answer, formats=("grammar",))
        made.append(m)
        return m

    register_provider("fakegrammar", factory, replace=True)
    yield made
    unregister_provider("fakegrammar")


@pytest.mark.parametrize("flag", [False, True])
def test_cli_no_constrain_switches_it_off(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    grammar_provider: list[ScriptedModel],
    flag: bool,
) -> None:
    args = ["run", "Write about the sea.", "-r", "Use only lowercase letters", "--json"]
    args += ["--model", "fakegrammar:x", "--max-calls", "3", "--no-repair"]
    _, out, err = run_cli(monkeypatch, capsys, *args, *(["--no-constrain"] if flag else []))
    trace = json.loads(out)["trace"]
    constrained = [n for n in trace if n["detail"].get("constrained") == "grammar"]
    assert bool(constrained) is not flag, err
    assert bool(grammar_requests(grammar_provider[0])) is not flag


async def test_ifeval_arms_with_and_without_constrained_sampling(
    tmp_path: Path, grammar_provider: list[ScriptedModel]
) -> None:
    data = tmp_path / "d.jsonl"
    row = {
        "key": 1,
        "prompt": "Write about the sea in lowercase, no commas.",
        "instruction_id_list": ["change_case:english_lowercase", "punctuation:no_comma"],
        "kwargs": [{}, {}],
    }
    data.write_text(json.dumps(row) + "\n")
    arms = ("cadenza_no_repair", "cadenza_no_repair_no_constrain", "cadenza_no_constrain")
    cfg = EvalConfig(
        data=data, out=tmp_path / "out", model="fakegrammar:m", budget={"max_calls": 3}, arms=arms
    )
    report = await run_ifeval(cfg)
    with_it = report["arms"]["cadenza_no_repair"]
    assert with_it["prompt_strict"] == 1.0
    assert with_it["constrained_calls_per_prompt"] >= 1
    assert with_it["constrained_cut_off_share"] == 0.0
    assert with_it["best_from"] == {"constrained_sample": 1.0}
    without = report["arms"]["cadenza_no_repair_no_constrain"]
    assert without["prompt_strict"] == 0.0 and without["constrained_calls_per_prompt"] == 0
    # with repairs but no grammar, the repairs fix the free answer
    repaired = report["arms"]["cadenza_no_constrain"]
    assert repaired["constrained_calls_per_prompt"] == 0
    assert repaired["best_from"] == {"repair": 1.0}


def words(n: int) -> str:
    return " ".join(["sea"] * n) + "."


async def test_a_long_answer_held_to_its_words_gets_the_tokens_to_write_them() -> None:
    """An "at least 600 words" answer cannot be written in 512 tokens: the constrained
    sample's call may write what the words need (within the budget), and the grammar
    holds the count; a count the budget cannot pay for is left to validation."""

    def long_answer(request: ModelRequest) -> str:
        fmt = request.response_format
        return words(600) if fmt is not None and fmt.kind == "grammar" else words(300)

    model = ScriptedModel(default=long_answer, formats=("grammar",), max_concurrency=1)
    many = Requirement(
        name="long",
        description="at least 600 words",
        validator="length_constraints:number_words",
        validator_args={"relation": "at least", "num_words": 600},
    )
    result = await cadenza.arun(
        "Write about the sea.",
        [many],
        budget={"max_tokens": 1400},
        models=[model],
        options=options(),
    )
    sent = grammar_requests(model)
    assert sent and sent[0].max_tokens >= 600 * 1.4 > 512
    assert "textmw{599}" in (sent[0].response_format.grammar or "")  # type: ignore[union-attr]
    assert result.requirements_result.finish_reason == "all_requirements_met"
    # free samples keep the usual cap
    assert all(r.max_tokens <= 512 for r in model.generation_requests if r not in sent)
    # 1,400 tokens cannot pay for 1,000 words: no grammar holds them (nothing else to hold)
    model2 = ScriptedModel(default=long_answer, formats=("grammar",), max_concurrency=1)
    thousand = many.model_copy(
        update={"validator_args": {"relation": "at least", "num_words": 1000}}
    )
    await cadenza.arun(
        "Write about the sea.",
        [thousand],
        budget={"max_tokens": 1400},
        models=[model2],
        options=options(),
    )
    assert not grammar_requests(model2)


def test_the_output_cap_covers_the_most_words_the_grammar_lets_through() -> None:
    """300 words with three highlights: the runs between the highlights may hold more
    than their share, so the cap is sized on the most words the grammar allows, not the
    least (a call capped at 512 tokens was cut off before its third highlight)."""
    from cadenza.planner.constrained import output_cap
    from cadenza.planner.grammar import most_words

    settings = SearchSettings()
    reqs = [
        ExactRequirement(
            "w", "length_constraints:number_words", {"relation": "at least", "num_words": 300}
        ),
        ExactRequirement(
            "h", "detectable_format:number_highlighted_sections", {"num_highlights": 3}
        ),
    ]
    g = requirements_grammar(reqs, max_words=settings.constrained_max_words)
    assert g is not None and g.enforced == ("w", "h")
    most = most_words(g.shape)
    assert most is not None and most > 300 + 20
    assert output_cap(settings, g) >= most * settings.tokens_per_word > 512
    # without a least number of words, the usual cap
    plain = requirements_grammar(reqs[1:], max_words=settings.constrained_max_words)
    assert plain is not None and output_cap(settings, plain) == settings.max_output_tokens
