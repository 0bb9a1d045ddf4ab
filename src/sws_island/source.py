"""Block sources: what a snapshot reads (raw file, bytes; qcow2 over NBD in sws_island.qcow2)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol


class BlockSource(Protocol):
    """A volume's bytes: its size, reads at any offset, and where data may be (None: anywhere)."""

    @property
    def size(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes: ...

    def allocated(self) -> list[tuple[int, int]] | None: ...


class BytesSource:
    """A volume held in memory, for tests."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self, offset: int, length: int) -> bytes:
        return self.data[offset : offset + length]

    def allocated(self) -> list[tuple[int, int]] | None:
        return None


class RawFileSource:
    """A raw image file, read with pread (safe from several threads)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDONLY)
        self._size = os.fstat(self._fd).st_size

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, length, offset)

    def allocated(self) -> list[tuple[int, int]] | None:
        return None

    def close(self) -> None:
        os.close(self._fd)
