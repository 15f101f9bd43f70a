"""Which files a search or a listing looks at: labels (any or all), file ids, a path prefix.

Also the checks on what a caller may give as labels, paths, names and ids: they come from
requests and are hostile until checked.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from .passages import LabelMode

__all__ = [
    "MAX_FILTER_IDS",
    "MAX_LABELS",
    "FileFilter",
    "check_file_id",
    "clean_labels",
    "clean_name",
    "clean_path",
]

MAX_LABELS = 100
MAX_LABEL_CHARS = 200
MAX_PATH_CHARS = 1024
MAX_NAME_CHARS = 255
MAX_FILTER_IDS = 1000


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def clean_labels(labels: Iterable[str] | None, *, what: str = "labels") -> tuple[str, ...]:
    """Labels trimmed and de-duplicated (first occurrence kept); a bad one is a UsageError."""
    if labels is None:
        return ()
    if isinstance(labels, str):
        raise UsageError(f"{what} must be a list of strings, not one string: [{labels!r}]")
    out: list[str] = []
    for label in labels:
        if not isinstance(label, str):
            raise UsageError(f"each of the {what} must be a string, got {type(label).__name__}")
        label = label.strip()
        if not label:
            raise UsageError(f"{what} must not be empty strings")
        if len(label) > MAX_LABEL_CHARS or _has_control(label):
            raise UsageError(
                f"label {label[:40]!r} is not valid: at most {MAX_LABEL_CHARS} characters, "
                "no control characters"
            )
        if label not in out:
            out.append(label)
    if len(out) > MAX_LABELS:
        raise UsageError(f"at most {MAX_LABELS} {what}, got {len(out)}")
    return tuple(out)


def clean_path(path: str | None) -> str | None:
    """A file's folder-like path, as given, trimmed; None or empty means none."""
    if path is None:
        return None
    if not isinstance(path, str):
        raise UsageError(f"path must be a string, got {type(path).__name__}")
    path = path.strip()
    if not path:
        return None
    if len(path) > MAX_PATH_CHARS or _has_control(path):
        raise UsageError(
            f"path {path[:40]!r} is not valid: at most {MAX_PATH_CHARS} characters, "
            "no control characters"
        )
    return path


def clean_name(name: str) -> str:
    """A file name without folders or control characters, at most 255 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cs"))
    if not base or base in (".", ".."):
        raise UsageError(f"file name {name[:60]!r} is not valid: give the file a name")
    return base[:MAX_NAME_CHARS]


def check_file_id(file_id: Any) -> str | None:
    """The canonical form of a file id (a UUID), or None when it cannot be one."""
    if not isinstance(file_id, str):
        return None
    try:
        return str(uuid.UUID(file_id.strip()))
    except ValueError:
        return None


@dataclass(frozen=True)
class FileFilter:
    """Files passing every given condition: carrying the labels (``OR``: any of them,
    ``AND``: all), among the file ids, under the path prefix (a plain string prefix of the
    file's path), added by the owner. Nothing given: every file."""

    labels: tuple[str, ...] = ()
    label_mode: LabelMode = "OR"
    file_ids: tuple[str, ...] = ()
    path_prefix: str | None = None
    owner: str | None = None
    """Only the files this owner (an API key's id) added; None: anyone's. Set by the
    caller's code (the server, from the request's key), never by what a request says."""

    @classmethod
    def of(
        cls,
        *,
        labels: Sequence[str] | None = None,
        label_mode: str = "OR",
        file_ids: Sequence[str] | None = None,
        path_prefix: str | None = None,
        owner: str | None = None,
    ) -> FileFilter:
        upper = label_mode.upper() if isinstance(label_mode, str) else label_mode
        if upper == "AND":
            mode: LabelMode = "AND"
        elif upper == "OR":
            mode = "OR"
        else:
            raise UsageError(f"label_mode must be 'AND' or 'OR', got {label_mode!r}")
        if file_ids is not None and isinstance(file_ids, str):
            raise UsageError("file_ids must be a list of ids, not one string")
        ids = tuple(dict.fromkeys(str(i).strip() for i in file_ids or ()))
        if len(ids) > MAX_FILTER_IDS:
            raise UsageError(f"at most {MAX_FILTER_IDS} file_ids, got {len(ids)}")
        return cls(
            labels=clean_labels(labels),
            label_mode=mode,
            file_ids=ids,
            path_prefix=clean_path(path_prefix),
            owner=owner,
        )

    @property
    def is_everything(self) -> bool:
        return (
            not self.labels
            and not self.file_ids
            and self.path_prefix is None
            and self.owner is None
        )

    @property
    def scope(self) -> FileFilter:
        """Only the owner condition: the files this caller may see at all."""
        return FileFilter(owner=self.owner)

    def sql(self, alias: str = "f") -> tuple[str, list[Any]]:
        """A condition on `library_files` (under `alias`) with ``?`` placeholders, and its
        parameters. ``1=1`` when the filter takes every file."""
        where: list[str] = []
        params: list[Any] = []
        if self.owner is not None:
            where.append(f"{alias}.owner = ?")
            params.append(self.owner)
        if self.file_ids:
            valid = [i for i in (check_file_id(x) for x in self.file_ids) if i is not None]
            if not valid:
                return "1=0", []
            where.append(f"{alias}.id IN ({', '.join('?' for _ in valid)})")
            params.extend(valid)
        if self.path_prefix is not None:
            where.append(f"substr({alias}.path, 1, ?) = ?")
            params.extend([len(self.path_prefix), self.path_prefix])
        if self.labels:
            marks = ", ".join("?" for _ in self.labels)
            if self.label_mode == "OR":
                where.append(
                    f"{alias}.seq IN (SELECT file_seq FROM library_labels WHERE label IN ({marks}))"
                )
            else:
                where.append(
                    f"{alias}.seq IN (SELECT file_seq FROM library_labels WHERE label IN ({marks}) "
                    f"GROUP BY file_seq HAVING COUNT(*) = {len(self.labels)})"
                )
            params.extend(self.labels)
        return (" AND ".join(where) or "1=1"), params
