"""WSGI pieces both proxy filters share: the container a path names, and counting body bytes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from swift.common.constraints import valid_api_version


def container_path(path: str) -> str | None:
    """'account/container' (WSGI strings) for /v1/account/container[/object]; else None."""
    parts = path.split("/", 4)
    if len(parts) < 4 or parts[0] or not parts[2] or not parts[3]:
        return None
    if not valid_api_version(parts[1]):
        return None
    return f"{parts[2]}/{parts[3]}"


class CountedBody:
    """A response body that counts the bytes it sends, and calls `finished` once, on close.

    `bytes_in` is added to by a `CountingInput` around the request's `wsgi.input`. Middlewares
    to the left may keep only the iterator (Swift's `reiterate` does), so the generator
    finishes too, when it ends or is closed; whichever comes first wins.
    """

    __slots__ = ("app_iter", "bytes_in", "bytes_out", "done")

    def __init__(self) -> None:
        self.app_iter: Iterable[bytes] = ()
        self.bytes_in = 0
        self.bytes_out = 0
        self.done = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self.app_iter:
                self.bytes_out += len(chunk)
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            close = getattr(self.app_iter, "close", None)
            if close is not None:
                close()
        finally:
            self.finished()

    def finished(self) -> None:
        """The request is over: both byte counts are final."""
        raise NotImplementedError


class CountingInput:
    """wsgi.input that adds every byte read to a `CountedBody`'s `bytes_in`."""

    __slots__ = ("_body", "_wrapped")

    def __init__(self, wrapped: Any, body: CountedBody) -> None:
        self._wrapped = wrapped
        self._body = body

    def read(self, *args: Any) -> bytes:
        data: bytes = self._wrapped.read(*args)
        self._body.bytes_in += len(data)
        return data

    def readline(self, *args: Any) -> bytes:
        data: bytes = self._wrapped.readline(*args)
        self._body.bytes_in += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        for line in self._wrapped:
            self._body.bytes_in += len(line)
            yield line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)
