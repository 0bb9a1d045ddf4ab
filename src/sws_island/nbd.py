"""NBD: a qemu-nbd export of a qcow2 file, a minimal read-only client, extent maps by nbdinfo."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from sws_island.errors import IslandError

_OPTS_MAGIC = b"IHAVEOPT"
_REPLY_MAGIC = 0x3E889045565A9
_REQUEST_MAGIC = 0x25609513
_SIMPLE_REPLY = 0x67446698
_OPT_GO = 7
_REP_ACK = 1
_REP_INFO = 3
_CMD_READ = 0
_CMD_DISC = 2


def _recv(sock: socket.socket, length: int) -> bytes:
    buf = bytearray(length)
    view = memoryview(buf)
    got = 0
    while got < length:
        n = sock.recv_into(view[got:])
        if n == 0:
            raise IslandError("NBD server closed the connection")
        got += n
    return bytes(buf)


def _connect(path: Path, patience: float = 10.0) -> socket.socket:
    """Connect to the unix socket; qemu-nbd creates the file before it listens, so a refusal
    in between (seen under load) is retried for up to `patience` seconds."""
    deadline = time.monotonic() + patience
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
            return sock
        except ConnectionRefusedError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class NbdConnection:
    """One fixed-newstyle connection to the default export, doing simple READs."""

    def __init__(self, path: Path) -> None:
        self.sock = _connect(path)
        self.size = self._handshake()
        self._handle = 0

    def _handshake(self) -> int:
        head = _recv(self.sock, 18)
        if head[:16] != b"NBDMAGIC" + _OPTS_MAGIC:
            raise IslandError("not a newstyle NBD server")
        self.sock.sendall(struct.pack(">I", 1 | 2))  # fixed newstyle, no zeroes
        payload = struct.pack(">IH", 0, 0)  # default export name, no info requests
        self.sock.sendall(_OPTS_MAGIC + struct.pack(">II", _OPT_GO, len(payload)) + payload)
        size = -1
        while True:
            magic, _opt, kind, length = struct.unpack(">QIII", _recv(self.sock, 20))
            data = _recv(self.sock, length) if length else b""
            if magic != _REPLY_MAGIC:
                raise IslandError("bad NBD option reply")
            if kind == _REP_INFO and len(data) >= 12 and struct.unpack(">H", data[:2])[0] == 0:
                size = struct.unpack(">Q", data[2:10])[0]
            elif kind == _REP_ACK:
                break
            elif kind & 0x80000000:
                raise IslandError(f"NBD server refused the export ({kind:#x}): {data!r}")
        if size < 0:
            raise IslandError("NBD server did not say the export's size")
        return int(size)

    def read(self, offset: int, length: int) -> bytes:
        self._handle += 1
        self.sock.sendall(
            struct.pack(">IHHQQI", _REQUEST_MAGIC, 0, _CMD_READ, self._handle, offset, length)
        )
        magic, error, handle = struct.unpack(">IIQ", _recv(self.sock, 16))
        if magic != _SIMPLE_REPLY or handle != self._handle:
            raise IslandError("bad NBD reply")
        if error:
            raise IslandError(f"NBD read at {offset} failed with error {error}")
        return _recv(self.sock, length)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(struct.pack(">IHHQQI", _REQUEST_MAGIC, 0, _CMD_DISC, 0, 0, 0))
        self.sock.close()


class NbdExport:
    """`qemu-nbd --read-only` serving a qcow2 file and its named dirty bitmaps on a unix socket."""

    def __init__(self, image: Path, bitmaps: Sequence[str] = (), connections: int = 8) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="island-nbd-"))
        self.socket = self.dir / "nbd.sock"
        command = [
            "qemu-nbd",
            "--read-only",
            "--persistent",
            "-f",
            "qcow2",
            "-k",
            str(self.socket),
            f"--shared={connections}",
        ]
        for name in bitmaps:
            command += ["-B", name]
        self.process = subprocess.Popen([*command, str(image)], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                self.close()
                raise IslandError(f"qemu-nbd did not start: {err.strip()}")
            time.sleep(0.02)

    @property
    def uri(self) -> str:
        return f"nbd+unix:///?socket={self.socket}"

    def extents(self, context: str = "base:allocation") -> list[tuple[int, int, int]]:
        """(offset, length, type) of every extent nbdinfo reports in `context`."""
        done = subprocess.run(
            ["nbdinfo", f"--map={context}", "--json", self.uri],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise IslandError(f"nbdinfo --map={context} failed: {done.stderr.strip()}")
        return [
            (int(e["offset"]), int(e["length"]), int(e["type"])) for e in json.loads(done.stdout)
        ]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
        for leftover in self.dir.iterdir():
            leftover.unlink()
        os.rmdir(self.dir)

    def __enter__(self) -> NbdExport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NbdSource:
    """A BlockSource over an NbdExport: a connection per reading thread; extents from its map."""

    def __init__(self, export: NbdExport) -> None:
        self.export = export
        self._local = threading.local()
        self._all: list[NbdConnection] = []
        self._lock = threading.Lock()
        self._size = self._connection().size

    def _connection(self) -> NbdConnection:
        conn: NbdConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = NbdConnection(self.export.socket)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        return self._connection().read(offset, length)

    def allocated(self) -> list[tuple[int, int]] | None:
        # type bit 1 (NBD_STATE_ZERO) marks extents that read as zeros
        return [(off, n) for off, n, kind in self.export.extents() if not kind & 2]

    def dirty(self, bitmap: str) -> list[tuple[int, int]]:
        return [
            (off, n)
            for off, n, kind in self.export.extents(f"qemu:dirty-bitmap:{bitmap}")
            if kind & 1
        ]

    def close(self) -> None:
        for conn in self._all:
            conn.close()
