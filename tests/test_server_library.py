"""The AI21 library API, driven by the official `ai21` SDK's ``client.library.files``
against `cadenza serve` on loopback: upload, get, list, update, delete; key scoping; 413
and 422 for files the library cannot take."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from ai21 import AI21Client
from ai21.clients.studio.resources import studio_library
from ai21.errors import AI21APIError, UnprocessableEntity

from cadenza.models.base import ModelRequest
from cadenza.models.registry import register_provider
from cadenza.retrieval import HashingEmbedder
from cadenza.testing import ScriptedModel
from test_server_support import ServerThread, settings

# The ai21 SDK posts JSON with httpx's deprecated `data=` bytes: its business.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture(autouse=True)
def _close_uploaded_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The SDK opens the file it uploads and never closes it; close it after the test."""
    opened: list[IO[Any]] = []

    def tracking_open(*args: Any, **kwargs: Any) -> IO[Any]:
        handle = open(*args, **kwargs)  # noqa: SIM115 (closed below)
        opened.append(handle)
        return handle

    monkeypatch.setattr(studio_library, "open", tracking_open, raising=False)
    yield
    for handle in opened:
        handle.close()


MARKDOWN = (
    "# Herons\n\nThe grey heron eats fish and frogs.\n\n## Nesting\n\nHerons nest in heronries.\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    db = tmp_path_factory.mktemp("library") / "cadenza.db"
    s = settings(db, library_embedder=HashingEmbedder(), max_upload_bytes=4096)
    with ServerThread(s) as srv:
        yield srv


@pytest.fixture
def ai21(server: ServerThread) -> Iterator[AI21Client]:
    with httpx.Client(timeout=30) as transport:  # the SDK never closes its own
        yield AI21Client(
            api_key="unused", api_host=server.url + "/studio/v1", http_client=transport
        )


def _file(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_the_sdk_uploads_reads_lists_updates_and_deletes(ai21: AI21Client, tmp_path: Path) -> None:
    path = _file(tmp_path, "herons.md", MARKDOWN)
    file_id = ai21.library.files.create(
        file_path=path, path="birds/2024", labels=["birds", "water"], public_url="https://x.org/h"
    )
    got = ai21.library.files.get(file_id)
    assert got.file_id == file_id and got.name == "herons.md"
    assert got.status == "PROCESSED" and got.size_bytes == len(MARKDOWN.encode())
    assert got.path == "birds/2024" and got.labels == ["birds", "water"]
    assert got.public_url == "https://x.org/h" and got.file_type == "text/markdown"
    assert got.created_by == "anonymous"  # no keys on this server
    assert file_id in [f.file_id for f in ai21.library.files.list()]
    assert [f.file_id for f in ai21.library.files.list(offset=0, limit=1000)].count(file_id) == 1

    ai21.library.files.update(file_id, labels=["owls"], public_url="https://x.org/o")
    after = ai21.library.files.get(file_id)
    assert after.labels == ["owls"] and after.public_url == "https://x.org/o"
    assert after.path == "birds/2024"  # left as it was

    ai21.library.files.delete(file_id)
    with pytest.raises(AI21APIError) as info:
        ai21.library.files.get(file_id)
    assert info.value.status_code == 404
    with pytest.raises(AI21APIError):
        ai21.library.files.delete(file_id)


def test_labels_as_a_json_list_and_cadenza_filters(server: ServerThread) -> None:
    with server.client() as http:
        r = http.post(
            "/studio/v1/library/files",
            files={"file": ("tides.txt", b"Spring tides come at the full moon.", "text/plain")},
            data={"labels": '["sea", "moon"]'},
        )
        assert r.status_code == 200, r.text
        fid = r.json()["fileId"]
        listed = http.get("/studio/v1/library/files", params={"label": "moon"}).json()
        assert [f["fileId"] for f in listed] == [fid]
        assert listed[0]["labels"] == ["sea", "moon"] and listed[0]["chunks"] == 1
        assert http.get("/studio/v1/library/files", params={"label": "nothing"}).json() == []
        bad = http.put(f"/studio/v1/library/files/{fid}", json={"colour": "red"})
        assert bad.status_code == 422 and "colour" in bad.json()["error"]["message"]


def test_files_it_cannot_take_get_413_or_422_naming_them(
    ai21: AI21Client, server: ServerThread, tmp_path: Path
) -> None:
    big = _file(tmp_path, "big.txt", "word " * 2000)  # 10 KB > the 4 KiB limit
    with pytest.raises(AI21APIError) as info:
        ai21.library.files.create(file_path=big)
    assert info.value.status_code == 413
    assert "big.txt" in str(info.value) and "4,096" in str(info.value)
    corrupt = _file(tmp_path, "report.pdf", b"%PDF-1.7 this is not a PDF at all")
    with pytest.raises(UnprocessableEntity, match=r"report\.pdf"):
        ai21.library.files.create(file_path=corrupt)
    binary = _file(tmp_path, "tool.exe", bytes(range(256)) * 4)
    with pytest.raises(UnprocessableEntity, match=r"tool\.exe"):
        ai21.library.files.create(file_path=binary)
    with server.client() as http:
        # a body far over the limit is refused before it is read
        r = http.post(
            "/studio/v1/library/files",
            files={"file": ("huge.txt", b"x" * 200_000, "text/plain")},
        )
        assert r.status_code == 413
        # nothing else was lost: the library still answers
        assert http.get("/studio/v1/library/files").status_code == 200


def test_a_key_sees_only_its_own_files(tmp_path: Path) -> None:
    s = settings(
        tmp_path / "keys.db",
        api_keys=("k1", "k2"),
        admin_keys=("boss",),
        library_embedder=HashingEmbedder(),
    )
    with ServerThread(s) as srv, httpx.Client(timeout=30) as transport:
        host = srv.url + "/studio/v1"
        one = AI21Client(api_key="k1", api_host=host, http_client=transport)
        two = AI21Client(api_key="k2", api_host=host, http_client=transport)
        boss = AI21Client(api_key="boss", api_host=host, http_client=transport)
        mine = one.library.files.create(file_path=_file(tmp_path, "a.md", MARKDOWN))
        theirs = two.library.files.create(file_path=_file(tmp_path, "b.md", MARKDOWN))
        assert [f.file_id for f in one.library.files.list()] == [mine]
        assert [f.file_id for f in two.library.files.list()] == [theirs]
        assert {f.file_id for f in boss.library.files.list()} == {mine, theirs}
        assert one.library.files.get(mine).created_by.startswith("key_")
        for call in (
            lambda: two.library.files.get(mine),
            lambda: two.library.files.update(mine, labels=["x"]),
            lambda: two.library.files.delete(mine),
        ):
            with pytest.raises(AI21APIError) as info:
                call()
            assert info.value.status_code == 404
        assert one.library.files.get(mine).labels == []  # unchanged
        boss.library.files.delete(mine)
        assert one.library.files.list() == []
        with httpx.Client(base_url=srv.url) as anonymous:
            assert anonymous.get("/studio/v1/library/files").status_code == 401


def _cite_the_heron(request: ModelRequest) -> str:
    for line in request.messages[-1].content.splitlines():
        if "heron" in line.lower() and line.startswith("[P"):
            return f"fish and frogs [{line[1:3]}]"
    return "nothing found"


register_provider("cite", lambda name, model: ScriptedModel(name=name, default=_cite_the_heron))


def test_the_sdk_uploads_then_runs_maestro_with_file_search(tmp_path: Path) -> None:
    s = settings(
        tmp_path / "rag.db",
        library_embedder=HashingEmbedder(),
        models=("cite:heron",),
        allow_fake_models=False,
    )
    with ServerThread(s, resolver=None) as srv, httpx.Client(timeout=30) as transport:
        client = AI21Client(
            api_key="unused", api_host=srv.url + "/studio/v1", http_client=transport
        )
        herons = client.library.files.create(
            file_path=_file(tmp_path, "herons.md", MARKDOWN), labels=["birds"]
        )
        client.library.files.create(
            file_path=_file(tmp_path, "owls.md", "# Owls\n\nBarn owls hunt mice at night.\n"),
            labels=["night"],
        )
        run = client.beta.maestro.runs.create_and_poll(
            input="What does the grey heron eat?",
            models=["cite:heron"],
            tools=[{"type": "file_search", "labels": ["birds"]}],
            budget="low",
            include=["data_sources", "requirements_result"],
            poll_interval_sec=0.05,
            poll_timeout_sec=30,
        )
        assert run.status == "completed", run
        assert run.result is not None and run.result.startswith("fish and frogs [P1]")
        sources = run.data_sources
        assert sources is not None
        found = sources["file_search"]
        # labels=["birds"]: only the heron file (two sections) was searched
        assert [(p["file_id"], p["file_name"], p["order"]) for p in found] == [
            (herons, "herons.md", 1),
            (herons, "herons.md", 2),
        ]
        assert "grey heron eats fish" in found[0]["text"] and found[0]["score"] > 0
        assert sources["web_search"] == []
        reqs = {r["name"]: r["score"] for r in run.requirements_result["requirements"]}
        assert reqs["cites_sources"] == 1.0 and reqs["grounded"] == 1.0
        with srv.client() as http:
            # the same run on cadenza's API: data_sources with the cited flag, and the trace
            got = http.get(f"/v1/runs/{run.id}").json()
            assert got["data_sources"]["file_search"][0]["cited"] is True
            nodes = http.get(f"/v1/runs/{run.id}/trace").json()["nodes"]
            assert {"search", "passage", "generate"} <= {n["kind"] for n in nodes}
            # web search is the operator's: refused when none is configured
            r = http.post(
                "/studio/v1/maestro/runs",
                json={"input": "q", "models": ["cite:heron"], "tools": [{"type": "web_search"}]},
            )
            assert r.status_code == 400 and "web" in r.text
