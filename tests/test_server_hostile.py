"""Hostile clients cost `brainwh serve` little: slots, memory, time and what it reveals.

Each case talks to a real server on 127.0.0.1; raw sockets play the hostile clients.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from pathlib import Path

import pytest
from serving import serving

pytestmark = pytest.mark.server

psycopg = pytest.importorskip("psycopg")


def startup_packet(user: str = "brainwh", version: int = 196608) -> bytes:
    body = struct.pack("!i", version) + f"user\0{user}\0database\0brainwh\0\0".encode()
    return struct.pack("!i", len(body) + 4) + body


def read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    head = exactly(5)
    return head[:1], exactly(struct.unpack("!i", head[1:])[0] - 4)


def memory(pid: int, field: str = "VmHWM") -> int:
    """A /proc/<pid>/status figure in bytes (VmHWM: peak resident, VmRSS: resident now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field}")


def answers(server) -> bool:
    with psycopg.connect(server.dsn(password="pw-1"), connect_timeout=5) as con:
        return con.execute("select count(*) > 0 from structures").fetchone() == (True,)


@pytest.mark.slow
def test_stalled_strangers_never_take_the_slots_of_real_users(tiny_db, tmp_path):
    """2x --max-connections sockets stop after the password challenge, others after
    connecting: a real user still logs in, and the strangers are dropped at the timeout."""
    with serving(tiny_db, "--max-connections", "4", "--login-timeout", "3",
                 "--password", "pw-1", log_dir=tmp_path) as server:
        stalled = []
        for n in range(8):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(startup_packet("brainwh" if n % 2 else f"guess{n}"))
            tag, payload = read_message(sock)  # the SASL challenge; then silence
            assert tag == b"R" and struct.unpack("!i", payload[:4])[0] == 10
            stalled.append(sock)
        silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(8)]
        started = time.monotonic()
        assert answers(server)  # all four slots are free for real users
        with psycopg.connect(server.dsn(password="pw-1")) as a, \
                psycopg.connect(server.dsn(password="pw-1")) as b:
            assert a.execute("select 1").fetchone() == b.execute("select 2").fetchone()[:0] + (1,)
        for sock in stalled + silent:  # each is dropped once its login time is up
            sock.settimeout(10)
            data = b""
            try:
                while chunk := sock.recv(4096):
                    data += chunk
            except ConnectionError:
                pass
            sock.close()
            assert not data or b"timeout" in data
        assert time.monotonic() - started < 10
        assert answers(server)
        assert "Traceback" not in server.stderr()


def test_connections_logging_in_are_capped(tiny_db, tmp_path):
    with serving(tiny_db, "--max-pending", "3", "--login-timeout", "30",
                 log_dir=tmp_path) as server:
        time.sleep(0.5)  # the start-up probe of `serving` has gone
        waiting = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as extra:
            tag, payload = read_message(extra)
            assert tag == b"E" and b"too many connections are logging in" in payload
        for sock in waiting:
            sock.close()
        time.sleep(0.3)
        with psycopg.connect(server.dsn()) as con:  # room again once they are gone
            assert con.execute("select 1").fetchone() == (1,)


def test_a_300_mb_startup_packet_costs_under_10_mb(tiny_db, tmp_path):
    with serving(tiny_db, "--password", "pw-1", log_dir=tmp_path) as server:
        assert answers(server)
        before = memory(server.process.pid)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(struct.pack("!ii", 300 * 2**20, 196608))
            sent = 0
            chunk = b"x" * 2**20
            try:
                while sent < 300 * 2**20:
                    sock.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass  # refused and closed after the 8-byte header
            assert sent < 300 * 2**20
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(startup_packet())  # a huge password message after the challenge
            assert read_message(sock)[0] == b"R"
            try:
                sock.sendall(b"p" + struct.pack("!i", 300 * 2**20) + b"y" * 2**22)
                tag, payload = read_message(sock)
                assert tag == b"E" and b"larger than this server accepts" in payload
            except OSError:
                pass
        assert memory(server.process.pid) - before < 10 * 2**20
        assert answers(server)
        assert "Traceback" not in server.stderr()


def test_unknown_users_and_wrong_passwords_get_the_same_answers(tiny_db, tmp_path):
    with serving(tiny_db, "--password", "pw-1", log_dir=tmp_path) as server:
        challenges = set()
        for user in ("brainwh", "nobody", "postgres"):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(startup_packet(user))
                challenges.add(read_message(sock))
        assert len(challenges) == 1  # the same SCRAM challenge, whoever asks
        errors = {}
        for user in ("brainwh", "nobody"):
            started = time.monotonic()
            with pytest.raises(psycopg.OperationalError) as caught:
                psycopg.connect(server.dsn(user=user, password="wrong"))
            errors[user] = (str(caught.value).replace(f'"{user}"', '"?"'),
                            time.monotonic() - started >= 0.4)
        assert errors["brainwh"] == errors["nobody"]
        assert "password authentication failed" in errors["brainwh"][0]
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(server.dsn(user="nobody", password="pw-1"))


@pytest.mark.slow
def test_a_2_mb_query_does_not_stall_the_other_clients(tiny_db, tmp_path):
    labels = ", ".join(f"'label-{i:06d}'" for i in range(130_000))
    big = f"select count(*) from cells where cell_label in ({labels})"
    assert len(big) > 2_000_000
    with serving(tiny_db, log_dir=tmp_path) as server:
        done = threading.Event()
        errors: list[BaseException] = []

        def hostile() -> None:
            try:
                with psycopg.connect(server.dsn(), autocommit=True) as con:
                    for _ in range(2):
                        con.execute(big).fetchone()
            except BaseException as error:  # noqa: BLE001
                errors.append(error)
            finally:
                done.set()

        with psycopg.connect(server.dsn(), autocommit=True) as con:
            con.execute("select 1").fetchone()
            thread = threading.Thread(target=hostile)
            thread.start()
            delays = []
            while not done.is_set():
                started = time.monotonic()
                assert con.execute("select count(*) from structures where structure_id = 385"
                                   ).fetchone()[0] >= 0
                delays.append(time.monotonic() - started)
                time.sleep(0.02)
            thread.join()
        assert not errors
        assert len(delays) > 10
        assert max(delays) < 0.5, f"a one-row query waited {max(delays):.2f} s"


def test_a_huge_string_is_refused_within_the_timeout_under_the_memory_limit(tiny_db, tmp_path):
    limit = 2**30
    with serving(tiny_db, "--memory-limit", "1GiB", "--statement-timeout", "20",
                 log_dir=tmp_path) as server:
        with psycopg.connect(server.dsn(), autocommit=True) as con:
            con.execute("select 1").fetchone()
            baseline = memory(server.process.pid, "VmRSS")
            started = time.monotonic()
            with pytest.raises(psycopg.Error) as caught:
                con.execute("select repeat('x', 1500000000) as s").fetchone()
            assert time.monotonic() - started < 20
            assert caught.value.sqlstate in ("53200", "57014"), str(caught.value)
            assert con.execute("select 42").fetchone() == (42,)
        assert memory(server.process.pid) - baseline < limit
        assert "Traceback" not in server.stderr()


def test_small_things(tiny_db, tmp_path):
    """Disconnects mid-result, forged log lines, bogus protocol versions, malformed
    messages, and server paths in answers."""
    with serving(tiny_db, "--log-queries", log_dir=tmp_path) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(startup_packet())
            while read_message(sock)[0] != b"Z":
                pass
            query = b"select * from range(5000000) t(i)\0"
            sock.sendall(b"Q" + struct.pack("!i", len(query) + 4) + query)
            read_message(sock)  # leave mid-result
        for version in (2 << 16, 7 << 16 | 1, 0):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(startup_packet(version=version))
                tag, payload = read_message(sock)
                assert tag == b"E" and b"unsupported frontend protocol" in payload
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(startup_packet())
            while read_message(sock)[0] != b"Z":
                pass
            garbage = b"\xff\xfe\0garbage"
            sock.sendall(b"B" + struct.pack("!i", len(garbage) + 4) + garbage)
            sock.sendall(b"S" + struct.pack("!i", 4))
            tag, payload = read_message(sock)
            assert tag == b"E" and b"malformed message" in payload
            assert b"Traceback" not in payload and b"Error(" not in payload
            assert read_message(sock)[0] == b"Z"
        with psycopg.connect(server.dsn(), autocommit=True) as con:
            con.execute("select 1 as x, 'a\n[99999] forged line' as y").fetchone()
            secrets = [str(tiny_db.parent), "/tmp/brainwh-serve-"]
            answers = [str(con.execute("select current_setting('temp_directory')").fetchone())]
            for sql in ("select * from brainwh.main.nope", "select * from nope.main.cells",
                        "attach 'x.duckdb' as x", "select * from read_text('/tmp/*')"):
                with pytest.raises(psycopg.Error) as caught:
                    con.execute(sql)
                answers.append(str(caught.value))
            for answer in answers:
                assert not any(secret in answer for secret in secrets), answer
        time.sleep(0.3)
        log = server.stderr()
        assert "Traceback" not in log
        assert not any(line.startswith("[99999]") for line in log.splitlines())
        assert server.process.poll() is None
