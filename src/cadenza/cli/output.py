"""How the CLI shows progress and results to a person."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.status import Status
from rich.table import Table

from ..result import Result
from ..trace import RunEvent

__all__ = ["Progress", "print_result"]


class Progress:
    """A one-line live status on stderr: calls made, best score so far."""

    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.calls = 0
        self.tokens = 0
        self.best: float | None = None
        self.status: Status | None = self.console.status("starting ...")
        self.status.start()

    def on_event(self, event: RunEvent) -> None:
        node = event.node
        if (
            event.kind == "node_finished"
            and node is not None
            and node.kind in ("generate", "revise", "judge")
        ):
            self.calls += 1
            self.tokens += node.input_tokens + node.output_tokens
        if event.kind == "best_changed":
            self.best = event.best_score
        best = "-" if self.best is None else f"{self.best:.2f}"
        if self.status is not None:
            self.status.update(f"{self.calls} calls, {self.tokens} tokens, best score {best}")

    def stop(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None


def print_result(result: Result, *, console: Console | None = None) -> None:
    console = console or Console()
    rr = result.requirements_result
    console.rule("result")
    if result.result:
        console.print(result.result, markup=False, highlight=False)
    else:
        console.print("[dim](no answer)[/dim]")
    console.rule()
    if result.data_sources is not None:
        print_sources(console, result)
    if rr.requirements:
        table = Table("requirement", "score", "reason", "checked by")
        for r in rr.requirements:
            mark = "[green]" if r.score >= 1 else "[red]" if r.score == 0 else "[yellow]"
            name = r.description + (" (mandatory)" if r.is_mandatory else "")
            table.add_row(name, f"{mark}{r.score:.2f}", r.reason, r.validator)
        console.print(table)
    repaired = [
        n for n in result.trace if n.kind == "repair" and n.candidate_id == result.best_candidate_id
    ]
    if repaired:
        console.print(
            "[yellow]repaired:[/yellow] the model's answer was fixed deterministically ("
            + ", ".join(str(r) for r in repaired[0].detail.get("repairs", []))
            + "); --no-repair shows what the model reaches on its own"
        )
    u = result.usage
    cost = f"${u.cost_usd:.4f}" + (
        f" (+{u.unpriced_calls} unpriced calls)" if u.unpriced_calls else ""
    )
    console.print(
        f"score [bold]{rr.score:.2f}[/bold] - {rr.finish_message or rr.finish_reason}\n"
        f"usage: {u.calls} calls, {u.input_tokens} input + {u.output_tokens} output tokens, "
        f"{cost}, {result.seconds:.1f} s, {len(result.trace)} trace nodes"
    )


def print_sources(console: Console, result: Result) -> None:
    """The passages shown to the model (cited ones marked) and what retrieval noted."""
    ds = result.data_sources
    if ds is None:
        return
    rows = [
        (p.id, p.cited, p.file_name + (f" - {p.title}" if p.title else ""), p.text)
        for p in ds.file_search
    ] + [(p.id, p.cited, p.url, p.text) for p in ds.web_search]
    rows.sort(key=lambda r: int(r[0][1:]) if r[0][1:].isdigit() else 0)
    if rows:
        table = Table("id", "cited", "source", "passage", title="sources")
        for pid, cited, where, text in rows:
            preview = " ".join(text.split())
            preview = preview if len(preview) <= 160 else preview[:157] + "..."
            table.add_row(
                pid, "[green]yes[/green]" if cited else "", escape(where), escape(preview)
            )
        console.print(table)
    else:
        console.print("[yellow]no passage was retrieved[/yellow]")
    for note in ds.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False)
