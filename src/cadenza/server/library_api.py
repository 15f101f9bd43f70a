"""The AI21 library API, so that the `ai21` SDK's ``client.library.files`` works unchanged:

    POST   /studio/v1/library/files        upload (multipart: file, path, labels, publicUrl)
    GET    /studio/v1/library/files        list (?offset=&limit=; cadenza: &label=&path=)
    GET    /studio/v1/library/files/{id}   one file
    PUT    /studio/v1/library/files/{id}   change labels, publicUrl (cadenza: path)
    DELETE /studio/v1/library/files/{id}   delete it and its passages

Files live in the server's database, in the document library (`cadenza.retrieval`). A file
is indexed when the upload answers, so its status is always ``PROCESSED``. On a server with
keys a key sees, changes and searches only the files it uploaded; an admin key sees all
(the same rule as runs). An upload over the size limit gets 413; a file the library cannot
read (unsupported, corrupt, empty) gets 422 naming it. Every answer is 200, as the SDK
expects.
"""

from __future__ import annotations

import asyncio
import datetime
import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from ..errors import DocumentError, DocumentTooLargeError
from ..retrieval import FileRecord, Library, LibrarySettings
from ..retrieval.library import DEFAULT_EMBEDDER
from .callers import caller_of
from .errors import ApiError
from .schemas import ERROR_RESPONSES
from .settings import ServerSettings

__all__ = ["FileOut", "LibraryHolder", "file_out", "router"]

router = APIRouter(prefix="/studio/v1/library", tags=["library"], responses=ERROR_RESPONSES)


class LibraryHolder:
    """The server's document library, opened on first use (loading the embedding model
    takes a moment, and a server that never sees a file should not pay for it)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self._library: Library | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Library:
        if self._library is None:
            async with self._lock:
                if self._library is None:
                    self._library = await asyncio.to_thread(self._open)
        return self._library

    def _open(self) -> Library:
        embedder = self.settings.library_embedder
        return Library(
            self.settings.db_url,
            settings=LibrarySettings(max_file_bytes=self.settings.max_upload_bytes),
            embedder=DEFAULT_EMBEDDER if embedder == "default" else embedder,
        )

    def close(self) -> None:
        if self._library is not None:
            self._library.close()
            self._library = None


class FileOut(BaseModel):
    """A file as AI21's API shows it (camelCase), plus what cadenza knows about it."""

    model_config = ConfigDict(populate_by_name=True)

    fileId: str
    name: str
    fileType: str = Field(description="The media type, e.g. text/markdown.")
    sizeBytes: int
    createdBy: str = Field(description="The id of the key that uploaded it, or 'anonymous'.")
    creationDate: str = Field(description="YYYY-MM-DD (UTC).")
    lastUpdated: str = Field(description="YYYY-MM-DD (UTC).")
    status: str = "PROCESSED"
    path: str | None = None
    labels: list[str] = Field(default_factory=list)
    publicUrl: str | None = None
    errorCode: int | None = None
    errorMessage: str | None = None
    title: str = Field(default="", description="cadenza: the document's title.")
    format: str = Field(default="", description="cadenza: text, markdown, html, pdf or docx.")
    chunks: int = Field(default=0, description="cadenza: how many passages it was cut into.")
    createdAt: float = Field(default=0.0, description="cadenza: seconds since the epoch.")
    updatedAt: float = Field(default=0.0, description="cadenza: seconds since the epoch.")


class UploadOut(BaseModel):
    fileId: str


class FileUpdate(BaseModel):
    """The body of `PUT /studio/v1/library/files/{id}`: what to change (what is left out
    stays as it is; null clears a path or URL)."""

    model_config = ConfigDict(extra="forbid")

    labels: list[Annotated[str, Field(max_length=200)]] | None = Field(default=None, max_length=100)
    publicUrl: str | None = Field(default=None, max_length=2048)
    path: str | None = Field(default=None, max_length=1024)


class Done(BaseModel):
    fileId: str
    object: str = "library.file"


def _day(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).date().isoformat()


def file_out(record: FileRecord) -> FileOut:
    return FileOut(
        fileId=record.id,
        name=record.name,
        fileType=record.media_type,
        sizeBytes=record.size_bytes,
        createdBy=record.owner or "anonymous",
        creationDate=_day(record.created_at),
        lastUpdated=_day(record.updated_at),
        status=record.status,
        path=record.path,
        labels=list(record.labels),
        publicUrl=record.public_url,
        title=record.title,
        format=record.format,
        chunks=record.chunks,
        createdAt=record.created_at,
        updatedAt=record.updated_at,
    )


async def _library(request: Request) -> Library:
    holder: LibraryHolder = request.app.state.library
    return await holder.get()


def _labels(values: list[str]) -> list[str]:
    """Labels as multipart fields: one field per label (what the SDK sends); a field
    holding a JSON list is read as that list."""
    out: list[str] = []
    for value in values:
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
                out.extend(parsed)
                continue
        out.append(value)
    return out


def _not_found(file_id: str) -> ApiError:
    return ApiError(404, f"no file {file_id[:80]!r} in the library", code="file_not_found")


@router.post("/files", response_model=UploadOut)
async def upload_file(
    request: Request,
    file: Annotated[UploadFile, File(description="The document: text, Markdown, HTML, PDF, DOCX.")],
    path: Annotated[str | None, Form(max_length=1024)] = None,
    labels: Annotated[list[str] | None, Form()] = None,
    publicUrl: Annotated[str | None, Form(max_length=2048)] = None,
) -> UploadOut:
    """Upload and index a file; answers `{"fileId"}` once it is searchable."""
    library = await _library(request)
    limit = library.settings.max_file_bytes
    data = await file.read(limit + 1)
    name = file.filename or "upload"
    try:
        record = await library.aadd(
            data,
            name=name,
            path=path,
            labels=_labels(labels or []),
            public_url=publicUrl,
            media_type=file.content_type
            if file.content_type and file.content_type != "application/octet-stream"
            else None,
            owner=caller_of(request).key_id,
        )
    except DocumentTooLargeError as exc:
        raise ApiError(413, str(exc), param="file", code="file_too_large") from None
    except DocumentError as exc:
        raise ApiError(422, str(exc), param="file", code="unreadable_file") from None
    return UploadOut(fileId=record.id)


@router.get("/files", response_model=list[FileOut])
async def list_files(
    request: Request,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    label: Annotated[
        list[str] | None, Query(description="cadenza: files with any of these.")
    ] = None,
    path: Annotated[str | None, Query(max_length=1024, description="cadenza: path prefix.")] = None,
) -> list[FileOut]:
    """The files this key may see, oldest first."""
    library = await _library(request)
    records = await library.alist(
        labels=label or None,
        path_prefix=path,
        limit=limit,
        offset=offset,
        owner=caller_of(request).owner_filter,
    )
    return [file_out(r) for r in records]


@router.get("/files/{file_id}", response_model=FileOut)
async def get_file(file_id: str, request: Request) -> FileOut:
    library = await _library(request)
    record = await library.aget(file_id, owner=caller_of(request).owner_filter)
    if record is None:
        raise _not_found(file_id)
    return file_out(record)


@router.put("/files/{file_id}", response_model=FileOut)
async def update_file(file_id: str, body: FileUpdate, request: Request) -> FileOut:
    """Change labels, publicUrl or path; answers the file as it now is."""
    library = await _library(request)
    changes: dict[str, Any] = {}
    for field_name, arg in (("labels", "labels"), ("publicUrl", "public_url"), ("path", "path")):
        if field_name in body.model_fields_set:
            value = getattr(body, field_name)
            changes[arg] = [] if field_name == "labels" and value is None else value
    record = await library.aupdate(file_id, owner=caller_of(request).owner_filter, **changes)
    if record is None:
        raise _not_found(file_id)
    return file_out(record)


@router.delete("/files/{file_id}", response_model=Done)
async def delete_file(file_id: str, request: Request) -> Done:
    library = await _library(request)
    if not await library.adelete(file_id, owner=caller_of(request).owner_filter):
        raise _not_found(file_id)
    return Done(fileId=file_id)
