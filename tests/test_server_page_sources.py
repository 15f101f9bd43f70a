"""The web page of a run with file search: each passage beside the sentences citing it,
and retrieval in the tree (headless Chromium, as in test_server_page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cadenza.models.base import ModelRequest
from cadenza.models.registry import register_provider
from cadenza.retrieval import HashingEmbedder
from cadenza.testing import ScriptedModel
from test_server_page import browser, page  # noqa: F401 (fixtures)
from test_server_support import ServerThread, settings, wait_for


def _answer(request: ModelRequest) -> str:
    for line in request.messages[-1].content.splitlines():
        if "heron" in line.lower() and line.startswith("[P"):
            return f"fish and frogs [{line[1:3]}]"
    return "nothing found"


register_provider("pagecite", lambda name, model: ScriptedModel(name=name, default=_answer))


def test_a_run_page_shows_its_sources_beside_the_claims(page: Any, tmp_path: Path) -> None:  # noqa: F811
    s = settings(
        tmp_path / "runs.db",
        library_embedder=HashingEmbedder(),
        models=("pagecite:x",),
        allow_fake_models=False,
    )
    with ServerThread(s, resolver=None) as srv, srv.client() as http:
        up = http.post(
            "/studio/v1/library/files",
            files={"file": ("herons.md", b"# Herons\n\nThe grey heron eats fish and frogs.\n")},
        )
        assert up.status_code == 200, up.text
        run = http.post(
            "/v1/runs",
            json={
                "input": "What does the grey heron eat?",
                "models": ["pagecite:x"],
                "tools": [{"type": "file_search"}],
                "budget": {"max_calls": 4},
            },
        ).json()
        done = wait_for(http, run["id"])
        assert done["status"] == "completed" and done["data_sources"]["file_search"]
        page.goto(f"{srv.url}/runs/{run['id']}")
        page.wait_for_function("!document.getElementById('sources-section').hidden")
        source = page.locator('#sources [data-source="P1"]')
        text = source.inner_text()
        assert "herons.md" in text and "grey heron eats fish" in text
        assert source.locator(".claims li").first.inner_text() == "fish and frogs [P1]"
        page.wait_for_selector('#tree [data-kind="search"]')
        search = page.locator('#tree [data-kind="search"]').first.inner_text()
        assert "file_search: What does the grey heron eat?" in search
        assert page.locator('#tree [data-kind="passage"]').count() >= 1
