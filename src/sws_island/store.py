"""The chunk-store port (objects by name) and its in-memory and directory adapters."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


class ChunkStore(Protocol):
    """Objects by name: chunks, snapshot indexes and lock markers all live here."""

    def has(self, name: str) -> bool: ...

    def put(self, name: str, data: bytes) -> None: ...

    def get(self, name: str) -> bytes: ...

    def delete(self, name: str) -> None: ...

    def list(self, prefix: str = "") -> Iterator[str]: ...


class MemoryStore:
    """A fake store in a dict, for tests; counts bytes put and gets."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.bytes_put = 0
        self._lock = threading.Lock()

    def has(self, name: str) -> bool:
        return name in self.objects

    def put(self, name: str, data: bytes) -> None:
        with self._lock:
            self.objects[name] = bytes(data)
            self.bytes_put += len(data)

    def get(self, name: str) -> bytes:
        try:
            return self.objects[name]
        except KeyError:
            raise FileNotFoundError(name) from None

    def delete(self, name: str) -> None:
        with self._lock:
            self.objects.pop(name, None)

    def list(self, prefix: str = "") -> Iterator[str]:
        return iter(sorted(n for n in list(self.objects) if n.startswith(prefix)))


class DirectoryStore:
    """Objects as files under a directory; a put is atomic (written aside, then renamed)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        if not name or name.startswith("/") or ".." in name.split("/"):
            raise ValueError(f"bad object name {name!r}")
        return self.root / name

    def has(self, name: str) -> bool:
        return self._path(name).is_file()

    def put(self, name: str, data: bytes) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(aside, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(aside, path)

    def get(self, name: str) -> bytes:
        return self._path(name).read_bytes()

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[str]:
        found = []
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                name = path.relative_to(self.root).as_posix()
                if name.startswith(prefix):
                    found.append(name)
        return iter(sorted(found))
