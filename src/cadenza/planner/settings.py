"""`SearchSettings`: every knob of the search in one place, with what it does.

The defaults are what the evaluations in docs/eval.md were measured with. Most users
only touch `repairs`, `max_output_tokens` and perhaps `width`; the rest are the search's
tuning constants, kept here (not scattered through the code) so that an experiment can
change one and say which.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFAULT_FOCUS_TEMPERATURES",
    "DEFAULT_REVISE_TEMPERATURES",
    "DEFAULT_SAMPLE_TEMPERATURES",
    "SearchSettings",
]

DEFAULT_SAMPLE_TEMPERATURES = (0.0, 0.7, 0.9, 1.0, 0.8, 0.6, 1.1, 0.5)
DEFAULT_REVISE_TEMPERATURES = (0.0, 0.7, 0.9, 0.5)
DEFAULT_FOCUS_TEMPERATURES = (0.7, 0.9, 1.0, 0.8)


@dataclass(frozen=True)
class SearchSettings:
    # -- what one call may write ----------------------------------------------------------
    max_output_tokens: int = 512
    """Cap on the tokens of one generation or revision (the budget may cap it lower)."""
    min_output_tokens: int = 16
    """A generation is not started if the budget leaves it fewer output tokens than this
    (or than `max_output_tokens`, if that is lower)."""

    # -- how much runs at once ------------------------------------------------------------
    width: int | None = None
    """Model branches in flight at once (a branch: one generation or revision, then the
    evaluation of what it wrote). Default: the parallel slots of the task's models (each
    model's `max_concurrency`, summed). A new branch also waits for a free slot of its
    model, counting the judge calls in flight when the judge is the same model."""

    first_round: int | None = None
    """Model calls started before any candidate has been evaluated. None: one while the
    budget can pay for fewer than `short_budget_calls` generations, else as many as
    `width` allows. A small first round lets the next calls use what the checks found
    in the first answer (a focused sample, a revision) instead of repeating its prompt,
    and spends nothing more when the first answer already meets everything; filling
    every slot at once saves wall time, and on a tight token budget it fits more calls
    (the ledger reserves each call's full output, so calls started later fit fewer)."""
    first_kind: str | None = None
    """The action kind of the first model call, when it proposes one (None: the policy's
    choice). Set by the priors when they start a run with one call of the kind that,
    by earlier runs, most often meets everything on its own."""
    short_budget_calls: float = 0.0
    """See `first_round` (0: never start with one call on account of the budget).
    Measured on the first 40 IFEval dev prompts at 1,400 tokens (no repairs), 6 here
    meant 2.0 to 2.3 calls a prompt instead of 3.9 and fewer prompts met."""

    # -- when to stop ---------------------------------------------------------------------
    patience: int = 6
    """Stop (`no_further_improvement`) after ``patience × width`` branches in a row
    brought no new best candidate: as many rounds' worth of work as before there were
    no rounds."""
    failures_to_stop: int = 2
    """Stop with `error` after ``failures_to_stop × width`` model branches in a row
    failed (every call failed after its retries)."""
    validator_errors_to_stop: int = 2
    """Stop with `error` once a code validator has raised on this many answers and on
    every answer so far (it never scored one): generation cannot fix a broken validator.
    A validator that raises on some answers and scores others goes on; a raise counts
    as that requirement failing. 0 never stops."""

    # -- the first prompt -----------------------------------------------------------------
    mention_requirements: bool | None = None
    """Add the requirements to the first prompt: None = when the input does not state them."""
    plain_every: int = 4
    """When the requirements were added to the input, one sample in this many sends the
    input exactly as written instead (0: never)."""

    # -- sampling (breadth) -----------------------------------------------------------------
    sample_temperatures: tuple[float, ...] = DEFAULT_SAMPLE_TEMPERATURES
    """The temperatures of the 1st, 2nd, ... sample; past the end, the list without its
    first entry repeats (the first, greedy, sample is never repeated: it would be the same)."""
    sample_prior: float = 0.3
    """Prior success rate of a sample (it becomes the new best), before this run's own
    evidence: ``(improved + prior) / (tried + 1)``."""

    # -- revising (depth) -------------------------------------------------------------------
    revise_temperatures: tuple[float, ...] = DEFAULT_REVISE_TEMPERATURES
    """The temperature of a candidate's 1st, 2nd, ... revision."""
    revise_prior: float = 0.6
    """Prior success rate of a revision (it beats the candidate it revised): revising with
    concrete feedback is the better bet until the run shows otherwise."""
    revisions_per_candidate: int = 2
    """Revise a candidate this many times before moving on to the runners-up."""
    revisions_at_once: int = 2
    """At most this many revisions of the same candidate in flight at once."""
    feedback_items: int = 3
    """Failing requirements named in a revision prompt (mandatory first, then by weight lost)."""
    feedback_reason_chars: int = 160
    """Each validator's reason is cut to this many characters in the revision prompt."""

    # -- constrained sampling ---------------------------------------------------------------
    constrain: bool = True
    """Sample under a grammar that holds the exact requirements (no commas, one case,
    quotes, an end phrase, JSON, N bullet points, ...) on models that enforce grammars
    while decoding (kind ``constrained_sample``, see constrained.py); the policy weighs it
    with the other kinds. Off: every answer is written free (``--no-constrain``)."""
    constrained_prior: float = 0.5
    """Prior success rate of a constrained sample (it becomes the new best)."""
    constrained_max_words: int = 150
    """Under a grammar, free text that something must follow (an end phrase, a closing
    quote, the next paragraph) holds at most this many words, so a small model that
    would ramble on is made to write what must come before its token limit (raised for
    an "at least N words" requirement)."""

    tokens_per_word: float = 1.4
    """Output tokens a word is expected to take, to size a constrained sample held to
    "at least N words": its call may write ``N × tokens_per_word + 48`` tokens when that
    is more than `max_output_tokens`, and an N the budget cannot pay for in one call is
    left to validation (the grammar would only make the answer run to its limit)."""

    # -- focused samples (breadth aimed by the checks) ------------------------------------
    focus: bool = True
    """Try focused samples: the first prompt again with the requirements the best
    candidate missed stated up front, without the answer (see `planner.focus`)."""
    focus_style: str = "system"
    """Where a focused sample states them: ``before`` the request, ``after`` it, or in a
    ``system`` message."""
    focus_prior: float = 0.45
    """Prior success rate of a focused sample (it becomes the new best)."""
    focus_temperatures: tuple[float, ...] = DEFAULT_FOCUS_TEMPERATURES
    """The temperature of the 1st, 2nd, ... focused sample aimed at one candidate."""
    focus_per_candidate: int = 2
    """Focused samples aimed at one candidate's failures before moving to the runners-up."""

    # -- deterministic repairs --------------------------------------------------------------
    repairs: bool = True
    """Apply the deterministic repairs that code validators offer (lowercasing, removing
    commas, ...). Repaired candidates are marked in the trace (kind ``repair``)."""
    repair_passes: int = 3
    """Fixes can undo each other; the free checks run again and the fixes are applied
    again, at most this many times."""

    # -- what an action is expected to cost (before the run has seen any) -----------------
    chars_per_token: float = 3.0
    """Characters per token when estimating a prompt's size."""
    unseen_output_share: float = 0.75
    """A generation is expected to write this share of `max_output_tokens` until the run
    has seen some."""
    feedback_tokens: int = 80
    """Tokens a revision prompt adds besides the answer it revises."""
    judge_prompt_tokens: int = 120
    """Tokens of a judge prompt besides the candidate it judges."""

    def __post_init__(self) -> None:
        positive = (
            "max_output_tokens",
            "min_output_tokens",
            "patience",
            "failures_to_stop",
            "revisions_per_candidate",
            "revisions_at_once",
            "focus_per_candidate",
            "feedback_items",
            "feedback_reason_chars",
            "repair_passes",
            "chars_per_token",
            "constrained_max_words",
            "tokens_per_word",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"SearchSettings.{name} must be > 0, not {getattr(self, name)!r}")
        if self.first_round is not None and self.first_round < 1:
            raise ValueError(
                f"SearchSettings.first_round must be >= 1 or None, not {self.first_round!r}"
            )
        if self.width is not None and self.width < 1:
            raise ValueError(f"SearchSettings.width must be >= 1 or None, not {self.width!r}")
        for name in (
            "validator_errors_to_stop",
            "plain_every",
            "feedback_tokens",
            "short_budget_calls",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"SearchSettings.{name} must be >= 0, not {getattr(self, name)!r}")
        if self.judge_prompt_tokens < 0:
            raise ValueError("SearchSettings.judge_prompt_tokens must be >= 0")
        if not 0 < self.unseen_output_share <= 1:
            raise ValueError("SearchSettings.unseen_output_share must be in (0, 1]")
        if self.focus_style not in ("before", "after", "system"):
            raise ValueError(
                "SearchSettings.focus_style must be 'before', 'after' or 'system', "
                f"not {self.focus_style!r}"
            )
        for name in ("sample_prior", "revise_prior", "constrained_prior", "focus_prior"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"SearchSettings.{name} must be in (0, 1]")
        for name in ("sample_temperatures", "revise_temperatures", "focus_temperatures"):
            temps = getattr(self, name)
            if not temps or any(not 0 <= t <= 2 for t in temps):
                raise ValueError(
                    f"SearchSettings.{name} needs at least one temperature, each in 0..2"
                )

    @property
    def min_tokens(self) -> int:
        """The fewest output tokens a generation is started with."""
        return min(self.min_output_tokens, self.max_output_tokens)
