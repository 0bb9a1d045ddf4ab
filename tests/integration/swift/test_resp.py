"""The firewall's own Redis client against the real Redis at 127.0.0.1:6379."""

from __future__ import annotations

import socket
import threading
import uuid

import pytest

from sws_swift.resp import ProtocolError, Redis, ReplyError, Script, encode, integers, parse


@pytest.fixture
def client(resp_redis: Redis) -> Redis:
    return resp_redis


def key() -> str:
    return f"swsresp-test-{uuid.uuid4().hex}"


def test_commands_answer_in_their_own_types(client: Redis) -> None:
    name = key()
    assert client.call("SET", name, "héllo", "EX", 60) == "OK"
    assert client.call("GET", name) == "héllo".encode()
    assert client.call("GET", key()) is None
    assert client.call("INCRBY", name + ":n", 41) == 41
    assert client.call("DEL", name, name + ":n") == 2


def test_a_pipeline_is_one_round_trip_with_every_reply_in_order(client: Redis) -> None:
    name = key()
    before = client.round_trips
    replies = client.pipeline([("INCR", name), ("INCRBY", name, 9), ("LPOP", name), ("DEL", name)])
    assert client.round_trips == before + 1
    assert replies[:2] == [1, 10]
    assert isinstance(replies[2], ReplyError) and "WRONGTYPE" in str(replies[2])
    assert replies[3] == 1


def test_a_script_is_loaded_on_first_use_and_then_run_by_sha(client: Redis) -> None:
    script = Script(f"-- {uuid.uuid4()}\nreturn {{tonumber(ARGV[1]) * 2, #KEYS}}")
    before = client.round_trips
    assert client.evalsha(script, [key(), key()], [21]) == [42, 2]
    assert client.round_trips == before + 2  # NOSCRIPT, then SCRIPT LOAD + EVALSHA together
    assert integers(client.evalsha(script, [], [5])) == [10, 0]
    assert client.round_trips == before + 3


def test_the_database_in_the_url_is_selected(client: Redis) -> None:
    name = key()
    in_zero = Redis.from_url("redis://127.0.0.1:6379/0", timeout=1)
    in_six = Redis.from_url("redis://127.0.0.1:6379/6", timeout=1)
    in_six.call("SET", name, "in six", "EX", 60)
    assert in_zero.call("GET", name) is None
    assert in_six.call("GET", name) == b"in six"
    in_six.call("DEL", name)


def test_an_error_reply_raises_and_leaves_the_connection_usable(client: Redis) -> None:
    with pytest.raises(ReplyError, match="unknown command"):
        client.call("NO-SUCH-COMMAND")
    assert client.call("PING") == "PONG"


def test_nothing_listening_is_an_os_error() -> None:
    with pytest.raises(OSError):
        Redis(host="127.0.0.1", port=9, timeout=0.5).call("PING")


def test_a_server_that_does_not_answer_times_out_and_the_socket_is_dropped() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    silent = Redis(host="127.0.0.1", port=listener.getsockname()[1], timeout=0.2)
    with pytest.raises(OSError):
        silent.call("PING")
    assert silent._idle == []  # a half-read socket is never reused
    thread.join(1)
    for sock in accepted:
        sock.close()
    listener.close()


def test_urls() -> None:
    tcp = Redis.from_url("redis://:s%40cret@cache.example:6380/3")
    assert (tcp.address, tcp.db, tcp.password) == (("cache.example", 6380), 3, "s@cret")
    unix = Redis.from_url("unix:///run/redis/redis.sock?db=2")
    assert (unix.address, unix.db, unix.password) == ("/run/redis/redis.sock", 2, None)
    with pytest.raises(ValueError, match="redis://"):
        Redis.from_url("memcached://127.0.0.1:11211")


def test_replies_split_anywhere_are_read_whole() -> None:
    reply = b"*3\r\n:7\r\n$5\r\nab\r\nc\r\n*-1\r\n"
    assert parse(reply, 0) == ([7, b"ab\r\nc", None], len(reply))
    for cut in range(len(reply) - 1):
        with pytest.raises(Exception) as raised:
            parse(reply[: cut + 1], 0)
        assert type(raised.value).__name__ == "_Incomplete"
    with pytest.raises(ProtocolError):
        parse(b"?what\r\n", 0)
    expected = b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n$1\r\n\x00\r\n"
    assert encode(["SET", "k", 12, b"\x00"]) == expected
