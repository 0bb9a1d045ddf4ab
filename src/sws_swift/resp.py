"""A small Redis client for the proxy's hot path: RESP2 over pooled sockets, standard library only.

The storage firewall sends one `EVALSHA` per counted request and, now and then, a batch of usage
increments. A general client spends more time in Python than Redis spends answering, so this one
does only what those calls need:

- URLs ``redis://[:password@]host[:port][/db]`` and ``unix://[:password@]/path[?db=N]``;
- one command, or several pipelined in ONE round trip (`pipeline`);
- scripts by SHA-1, loaded on the first ``NOSCRIPT``;
- one socket per concurrent caller (greenthreads in an eventlet proxy each take their own from a
  small pool), a timeout on connect and on every answer. A connection that fails or times out is
  closed, never reused half-read.

`round_trips` counts exchanges with the server, which the tests use to hold the firewall to its
budget of one per request.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Sequence
from urllib.parse import parse_qs, unquote, urlsplit

MAX_IDLE = 32  # idle sockets kept per client


class ReplyError(Exception):
    """The server answered with an error reply (``-ERR ...``)."""


Arg = str | bytes | int
Reply = int | bytes | str | None | ReplyError | list["Reply"]


class ProtocolError(OSError):
    """The server's answer was not RESP2."""


class Script:
    """A Lua script known by its SHA-1."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()


def encode(args: Sequence[Arg]) -> bytes:
    """One command as a RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(out)


class _Incomplete(Exception):
    """The buffer ends inside a reply: read more."""


def parse(buf: bytes, pos: int) -> tuple[Reply, int]:
    """The reply starting at `pos` and the position after it; raises `_Incomplete`."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind, line = buf[pos : pos + 1], buf[pos + 1 : end]
    pos = end + 2
    if kind == b":":
        return int(line), pos
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, pos
        if len(buf) < pos + size + 2:
            raise _Incomplete
        return buf[pos : pos + size], pos + size + 2
    if kind == b"*":
        count = int(line)
        if count < 0:
            return None, pos
        items: list[Reply] = []
        for _ in range(count):
            item, pos = parse(buf, pos)
            items.append(item)
        return items, pos
    if kind == b"+":
        return line.decode(), pos
    if kind == b"-":
        return ReplyError(line.decode()), pos
    raise ProtocolError(f"not a RESP2 reply: {buf[pos - 2 - len(line) - 1 : pos]!r}")


class _Connection:
    __slots__ = ("buf", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def exchange(self, payload: bytes, count: int) -> list[Reply]:
        """Send `payload` (`count` commands) and read `count` replies."""
        self.sock.sendall(payload)
        replies: list[Reply] = []
        buf, pos = self.buf, 0
        while len(replies) < count:
            try:
                reply, pos = parse(buf, pos)
            except _Incomplete:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("Redis closed the connection") from None
                buf, pos = buf[pos:] + chunk, 0
                continue
            replies.append(reply)
        self.buf = buf[pos:]
        return replies


class Redis:
    """A client for one Redis server; every failure to talk to it raises `OSError`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 6379,
        path: str | None = None,
        db: int = 0,
        password: str | None = None,
        timeout: float = 0.1,
    ) -> None:
        self.address: str | tuple[str, int] = path if path is not None else (host, port)
        self.db = db
        self.password = password
        self.timeout = timeout
        self.round_trips = 0
        self._idle: list[_Connection] = []

    @classmethod
    def from_url(cls, url: str, timeout: float = 0.1) -> Redis:
        parts = urlsplit(url)
        password = unquote(parts.password) if parts.password else None
        if parts.scheme == "unix":
            db = int(parse_qs(parts.query).get("db", ["0"])[0])
            return cls(path=parts.path, db=db, password=password, timeout=timeout)
        if parts.scheme != "redis":
            raise ValueError(f"redis_url must be redis:// or unix://, not {url!r}")
        db = int(parts.path.strip("/") or 0)
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=db,
            password=password,
            timeout=timeout,
        )

    def call(self, *args: Arg) -> Reply:
        """One command, one round trip; an error reply raises `ReplyError`."""
        return raise_errors(self.pipeline([args]))[0]

    def pipeline(self, commands: Sequence[Sequence[Arg]]) -> list[Reply]:
        """Every command in one round trip; error replies come back as `ReplyError` values."""
        return self.send(b"".join(encode(command) for command in commands), len(commands))

    def send(self, payload: bytes, count: int) -> list[Reply]:
        """`count` commands, already RESP-encoded in `payload`, in one round trip (as
        `pipeline`): for callers that keep the encoding of commands they repeat."""
        connection = self._acquire()
        try:
            replies = connection.exchange(payload, count)
        except BaseException:
            connection.sock.close()
            raise
        finally:
            self.round_trips += 1
        self._release(connection)
        return replies

    def evalsha(self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Reply:
        """Run `script`, loading it first if this server does not know it yet."""
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        reply = self.pipeline([command])[0]
        if isinstance(reply, ReplyError) and str(reply).startswith("NOSCRIPT"):
            reply = self.pipeline([("SCRIPT", "LOAD", script.source), command])[1]
        return raise_errors([reply])[0]

    def close(self) -> None:
        while self._idle:
            self._idle.pop().sock.close()

    def _acquire(self) -> _Connection:
        if self._idle:
            return self._idle.pop()
        return self._connect()

    def _release(self, connection: _Connection) -> None:
        if len(self._idle) < MAX_IDLE:
            self._idle.append(connection)
        else:
            connection.sock.close()

    def _connect(self) -> _Connection:
        if isinstance(self.address, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.address)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection(self.address, timeout=self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = _Connection(sock)
        setup: list[Sequence[Arg]] = []
        if self.password is not None:
            setup.append(("AUTH", self.password))
        if self.db:
            setup.append(("SELECT", self.db))
        if setup:
            try:
                raise_errors(connection.exchange(b"".join(map(encode, setup)), len(setup)))
            except BaseException:
                sock.close()
                raise
        return connection


def integers(reply: Reply) -> list[int]:
    """An array reply of integers, checked."""
    values = [value for value in reply if isinstance(value, int)] if isinstance(reply, list) else []
    if not isinstance(reply, list) or len(values) != len(reply):
        raise ProtocolError(f"expected an array of integers, got {reply!r:.80}")
    return values


def raise_errors(replies: list[Reply]) -> list[Reply]:
    """The replies, if none is an error reply; else the first one is raised."""
    for reply in replies:
        if isinstance(reply, ReplyError):
            raise reply
    return replies
