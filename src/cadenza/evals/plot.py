"""The accuracy-against-tokens plot of an evaluation report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UsageError

__all__ = ["plot_accuracy_vs_tokens"]


def plot_accuracy_vs_tokens(report: dict[str, Any], path: Path) -> Path:
    """One point per arm: prompt-level strict accuracy against tokens per prompt."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("the plot needs matplotlib: pip install 'cadenza[eval]'") from None
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for arm, m in report["arms"].items():
        x, y = m["tokens_per_prompt"], 100 * m["prompt_strict"]
        ax.scatter([x], [y], s=60)
        ax.annotate(f"{arm} ({y:.1f} %)", (x, y), textcoords="offset points", xytext=(6, 4))
    ax.set_xlabel("tokens per prompt (input + output, all calls)")
    ax.set_ylabel("prompt-level strict accuracy (%)")
    ax.set_title(f"IFEval, {report['n_prompts']} prompts, {report['model']}, mode {report['mode']}")
    ax.set_ylim(bottom=0, top=max(10.0, ax.get_ylim()[1] * 1.1))
    ax.set_xlim(left=0, right=ax.get_xlim()[1] * 1.35)  # room for the labels
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
