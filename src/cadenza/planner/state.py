"""The state of a run: candidates, their verdicts, and how requirements score them."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..task import Requirement

__all__ = ["Candidate", "Judged", "RunState", "overall_score", "rank_key"]


@dataclass(frozen=True)
class Judged:
    score: float
    reason: str
    validator: str
    """``code:<name>`` or ``judge:<model>``."""
    failed: bool = False
    """The validation itself failed (unparseable judge, validator raised, call failed)."""


@dataclass
class Candidate:
    id: str
    text: str
    node_id: str
    origin: str
    """The kind of action that made it: ``sample``, ``revise``, ``repair``."""
    parent: str | None = None
    """The candidate this one revised, if any."""
    model: str = ""
    temperature: float = 0.0
    verdicts: dict[str, Judged] = field(default_factory=dict)
    dropped: str | None = None
    """Why evaluation stopped early (it could no longer beat the best)."""


def overall_score(requirements: list[Requirement], verdicts: dict[str, Judged]) -> float:
    """Weighted mean of requirement scores; 0 if a mandatory one is not fully met.

    A requirement with no verdict yet counts as 0 here."""
    if not requirements:
        return 1.0
    total = sum(r.weight for r in requirements)
    acc = 0.0
    for r in requirements:
        s = verdicts[r.name].score if r.name in verdicts else 0.0
        if r.is_mandatory and s < 1.0:
            return 0.0
        acc += r.weight * s
    return acc / total


def rank_key(
    requirements: list[Requirement], verdicts: dict[str, Judged], *, optimistic: bool = False
) -> tuple[float, float]:
    """How candidates are compared while the run goes on.

    (official score, weighted mean ignoring the mandatory rule): the second element lets
    a candidate that is closer on a failing mandatory requirement win over one that is
    further away, so revisions can climb. With `optimistic`, requirements not yet
    judged count as fully met: the most this candidate could still reach.
    """
    if not requirements:
        return (1.0, 1.0)
    fill = 1.0 if optimistic else 0.0
    scores = {
        r.name: (verdicts[r.name].score if r.name in verdicts else fill) for r in requirements
    }
    total = sum(r.weight for r in requirements)
    mean = sum(r.weight * scores[r.name] for r in requirements) / total
    mandatory_met = all(scores[r.name] >= 1.0 for r in requirements if r.is_mandatory)
    return (mean if mandatory_met else 0.0, mean)


@dataclass
class RunState:
    requirements: list[Requirement]
    candidates: dict[str, Candidate] = field(default_factory=dict)
    best_id: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def best(self) -> Candidate | None:
        return self.candidates.get(self.best_id) if self.best_id else None

    def key(self, c: Candidate) -> tuple[float, float]:
        return rank_key(self.requirements, c.verdicts)

    def score(self, c: Candidate) -> float:
        return overall_score(self.requirements, c.verdicts)

    def consider(self, c: Candidate) -> bool:
        """Make `c` the best if it beats the current best; say whether it did."""
        best = self.best
        if best is None or self.key(c) > self.key(best):
            self.best_id = c.id
            return True
        return False

    def failing(self, c: Candidate) -> list[tuple[Requirement, Judged]]:
        """Requirements `c` does not fully meet, mandatory first, then by weight lost."""
        out = [
            (r, c.verdicts[r.name])
            for r in self.requirements
            if r.name in c.verdicts and c.verdicts[r.name].score < 1.0
        ]
        out.sort(key=lambda rv: (not rv[0].is_mandatory, -(rv[0].weight * (1 - rv[1].score))))
        return out

    def ranked(self) -> list[Candidate]:
        done = [c for c in self.candidates.values() if c.dropped is None]
        return sorted(done, key=self.key, reverse=True)
