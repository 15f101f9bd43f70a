"""The plots of the evaluation reports: score against tokens, coverage per subset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UsageError

__all__ = ["plot_accuracy_vs_tokens", "plot_coverage_by_subset", "plot_f1_vs_tokens"]


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("the plot needs matplotlib: pip install 'cadenza[eval]'") from None
    return plt


def plot_accuracy_vs_tokens(report: dict[str, Any], path: Path) -> Path:
    """One point per arm: prompt-level strict accuracy against tokens per prompt."""
    return _score_vs_tokens(
        report,
        path,
        x="tokens_per_prompt",
        y="prompt_strict",
        point="{arm} ({y:.1f} %)",
        xlabel="tokens per prompt (input + output, all calls)",
        ylabel="prompt-level strict accuracy (%)",
        title=f"IFEval, {report['n_prompts']} prompts, {report['model']}, mode {report['mode']}",
    )


def _score_vs_tokens(
    report: dict[str, Any],
    path: Path,
    *,
    x: str,
    y: str,
    point: str,
    xlabel: str,
    ylabel: str,
    title: str,
) -> Path:
    """One point per arm: its share `y` (drawn as a percentage) against its `x` tokens,
    labelled by `point` (a format of ``arm`` and ``y``)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for arm, m in report["arms"].items():
        px, py = m[x], 100 * m[y]
        ax.scatter([px], [py], s=60)
        ax.annotate(
            point.format(arm=arm, y=py), (px, py), textcoords="offset points", xytext=(6, 4)
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.set_ylim(bottom=0, top=max(10.0, ax.get_ylim()[1] * 1.1))
    ax.set_xlim(left=0, right=ax.get_xlim()[1] * 1.35)  # room for the labels
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_coverage_by_subset(report: dict[str, Any], path: Path) -> Path:
    """Grouped bars: each arm's coverage (share of schemas with a valid instance) per
    subset and overall, with tokens per schema in the legend."""
    plt = _pyplot()
    subsets = [*report["subsets"], "all"]
    arms = report["arms"]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(subsets) + 2), 4), dpi=120)
    width = 0.8 / max(1, len(arms))
    for i, (arm, m) in enumerate(arms.items()):
        values = [100 * m["coverage_by_subset"].get(s, 0.0) for s in subsets[:-1]]
        values.append(100 * m["coverage"])
        xs = [j + (i - (len(arms) - 1) / 2) * width for j in range(len(subsets))]
        ax.bar(xs, values, width, label=f"{arm} ({m['tokens_per_schema']:.0f} tokens/schema)")
    ax.set_xticks(range(len(subsets)), subsets, rotation=20)
    ax.set_ylabel("schemas with a valid instance (%)")
    ax.set_ylim(0, 105)
    ax.set_title(f"JSON Schema coverage, {report['n_schemas']} schemas, {report['model']}")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_f1_vs_tokens(report: dict[str, Any], path: Path) -> Path:
    """One point per arm of a question-answering report: F1 against tokens per question."""
    return _score_vs_tokens(
        report,
        path,
        x="tokens_per_question",
        y="f1",
        point="{arm} (F1 {y:.1f})",
        xlabel="tokens per question (input + output, all calls)",
        ylabel="answer F1 (%)",
        title=f"HotpotQA, {report['n_questions']} questions, {report['model']}",
    )
