"""Chunks: fixed 4 MiB pieces of a volume, named by SHA-256 of their content, zstd-compressed."""

from __future__ import annotations

import functools
import hashlib
import threading

import zstandard

CHUNK_SIZE = 4 * 1024 * 1024
CHUNK_PREFIX = "chunks/"
_local = threading.local()


def chunk_hash(data: bytes) -> str:
    """The SHA-256 (hex) of a chunk's uncompressed content: its name in the store."""
    return hashlib.sha256(data).hexdigest()


def object_name(name: str) -> str:
    return f"{CHUNK_PREFIX}{name}"


def is_zero(data: bytes) -> bool:
    """True when every byte is zero (such chunks are never stored)."""
    return not data.strip(b"\0")


@functools.lru_cache(maxsize=4)
def zero_hash(length: int) -> str:
    """The name a zero chunk would have; a volume's hash counts one for every unwritten chunk, so
    it is computed once per length, not once per chunk (0.8 s per snapshot of a 4 GiB volume)."""
    return chunk_hash(bytes(length))


def compress(data: bytes) -> bytes:
    if not hasattr(_local, "c"):
        _local.c = zstandard.ZstdCompressor(level=3)
    return bytes(_local.c.compress(data))


def decompress(blob: bytes) -> bytes:
    if not hasattr(_local, "d"):
        _local.d = zstandard.ZstdDecompressor()
    return bytes(_local.d.decompress(blob, max_output_size=CHUNK_SIZE))
