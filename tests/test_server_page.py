"""The web page, in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
the list of runs, one run's live tree of calls, its requirements and answer."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_server_support import ServerThread, settings, wait_for

CHROMIUM = os.environ.get("CADENZA_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

SCREENSHOTS = (
    Path(os.environ.get("CADENZA_SCREENSHOTS", ""))
    if os.environ.get("CADENZA_SCREENSHOTS")
    else None
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # The page's CSP forbids eval, which Playwright's wait_for_function needs; the CSP
    # header itself is checked in test_page_headers.
    context = browser.new_context(bypass_csp=True)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert errors == [], errors  # no JavaScript errors on any page


def shot(page: Any, name: str) -> None:
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_list_and_a_live_run(page: Any, tmp_path: Path) -> None:
    with ServerThread(settings(tmp_path / "runs.db")) as srv, srv.client() as http:
        done = http.post(
            "/v1/runs",
            json={
                "input": "Greet the <b>world</b> <img src=x onerror=alert(1)>",
                "models": ["fake:picky"],
                "requirements": [
                    {
                        "name": "lowercase",
                        "description": "Use only lowercase letters",
                        "is_mandatory": True,
                    }
                ],
            },
        ).json()
        wait_for(http, done["id"])
        slow = http.post(
            "/v1/runs",
            json={
                "input": "Say hi slowly",
                "models": ["fake:slow-0.3"],
                "requirements": [{"name": "lc", "description": "Use only lowercase letters"}],
                "budget": {"max_calls": 60},
            },
        ).json()

        page.goto(srv.url + "/")
        page.wait_for_selector(f'tr[data-run-id="{done["id"]}"]')
        row = page.locator(f'tr[data-run-id="{done["id"]}"]')
        assert "completed" in row.inner_text() and "1.00" in row.inner_text()
        assert page.locator(f'tr[data-run-id="{slow["id"]}"] .status').inner_text() in (
            "in_progress",
            "completed",
        )
        assert page.locator("img").count() == 0  # user text is shown as text
        shot(page, "index")

        # One run, watched while it runs: the tree grows without a reload.
        page.locator(f'tr[data-run-id="{slow["id"]}"] a').click()
        page.wait_for_url(re.compile(f"/runs/{slow['id']}$"))
        page.wait_for_selector("#tree .node")
        assert page.locator("#run-status").inner_text() == "in_progress"
        first = page.locator("#tree .node").count()
        page.wait_for_function(f"document.querySelectorAll('#tree .node').length > {first}")
        assert page.locator("#cancel").is_visible()
        shot(page, "run-live")
        page.wait_for_function(
            "document.getElementById('run-status').textContent === 'completed'", timeout=30_000
        )
        final = wait_for(http, slow["id"])
        trace = http.get(f"/v1/runs/{slow['id']}/trace").json()["nodes"]
        page.wait_for_function(f"document.querySelectorAll('#tree .node').length === {len(trace)}")
        assert page.locator("#answer").inner_text() == final["result"]
        assert not page.locator("#cancel").is_visible()
        req = page.locator('#requirements tr[data-requirement="lc"]').inner_text()
        assert "Use only lowercase letters" in req and "0.40" in req and "judge:fake:slow" in req
        judge = page.locator('#tree .node[data-kind="judge"]').first.inner_text()
        assert "fake:slow-0.3" in judge and "lc=0.40" in judge and "tok" in judge and " s" in judge
        root = page.locator('#tree > li > .node[data-kind="run"]')
        assert root.count() == 1 and "ok" in root.inner_text()
        summary = page.locator("#summary").inner_text()
        assert f"{final['usage']['calls']} calls" in summary
        shot(page, "run-done")

        # The finished run with hostile input: shown as text, scores per requirement
        page.goto(f"{srv.url}/runs/{done['id']}")
        page.wait_for_function("document.getElementById('run-status').textContent === 'completed'")
        assert "<img src=x" in page.locator("#input").inner_text()
        assert page.locator("img").count() == 0
        assert page.locator("#answer").inner_text() == "hello world"
        assert "all_requirements_met" in page.locator("#score").inner_text()
        assert (
            page.locator('#tree .node[data-node-id="n1"]').get_attribute("data-kind") == "generate"
        )
        details = page.locator('#tree details[data-node-id="n1"]')
        details.locator("summary").click()
        assert "user: Greet the <b>world</b>" in details.inner_text()  # the prompt it sent
        assert "Hello, World" in details.inner_text()  # and what came back


def test_cancel_from_the_page(page: Any, tmp_path: Path) -> None:
    with ServerThread(settings(tmp_path / "runs.db")) as srv, srv.client() as http:
        slow = http.post(
            "/v1/runs",
            json={
                "input": "Say hi",
                "models": ["fake:slow"],
                "requirements": [{"description": "Use only lowercase letters"}],
                "budget": {"max_calls": 1000},
            },
        ).json()
        page.goto(f"{srv.url}/runs/{slow['id']}")
        page.locator("#cancel").click()
        page.wait_for_function("document.getElementById('run-status').textContent === 'cancelled'")
        assert http.get(f"/v1/runs/{slow['id']}").json()["status"] == "cancelled"


def test_the_page_asks_for_the_key_when_the_server_has_one(page: Any, tmp_path: Path) -> None:
    with ServerThread(settings(tmp_path / "runs.db", api_keys=("s3cret",))) as srv:
        with srv.client(headers={"Authorization": "Bearer s3cret"}) as http:
            run = http.post("/v1/runs", json={"input": "hi", "models": ["fake:x"]}).json()
            wait_for(http, run["id"])
        page.goto(srv.url + "/")
        page.wait_for_selector("#auth:not([hidden])")
        assert "API key" in page.locator("#message").inner_text()
        page.fill("#auth-key", "s3cret")
        page.locator("#auth button").click()
        page.wait_for_selector(f'tr[data-run-id="{run["id"]}"]')
        assert page.locator("#auth").is_hidden()


def test_page_headers(tmp_path: Path) -> None:
    with ServerThread(settings(tmp_path / "runs.db")) as srv, srv.client() as http:
        for path in ("/", "/runs/anything"):
            r = http.get(path)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert "script-src 'self'" in r.headers["content-security-policy"]
            assert r.headers["x-content-type-options"] == "nosniff"
        assert (
            http.get("/static/app.js")
            .headers["content-type"]
            .startswith(("text/javascript", "application/javascript"))
        )
