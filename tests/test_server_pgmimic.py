"""Everything brainwh serve takes from pg-mimic, against golden bytes and values.

`warehouse/server/pgmimic.py` is the only module that imports pg_mimic. If an upgrade
changes a message layout, a codec, the SCRAM exchange or a name we use, this file fails,
naming it, before any client would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import struct
import uuid
from pathlib import Path

import pytest

from warehouse.server import pgmimic as wire

SERVER = Path(__file__).resolve().parent.parent / "warehouse" / "server"


def test_only_the_adapter_imports_pg_mimic():
    users = [path.name for path in SERVER.glob("*.py")
             if "pg_mimic" in path.read_text().replace("pg_mimic's", "")
             and "import" in path.read_text() and path.name != "pgmimic.py"
             and any(line.lstrip().startswith(("import pg_mimic", "from pg_mimic"))
                     for line in path.read_text().splitlines())]
    assert users == []


def test_the_version_is_the_one_tested():
    assert wire.VERSION.startswith("0.1."), "pg-mimic changed: re-check this adapter"


@pytest.mark.parametrize(("built", "golden"), [
    (wire.authentication_ok(), b"R\0\0\0\x08\0\0\0\0"),
    (wire.parameter_status("a", "b"), b"S\0\0\0\x08a\0b\0"),
    (wire.backend_key_data(7, -1), b"K\0\0\0\x0c\0\0\0\x07\xff\xff\xff\xff"),
    (wire.ready_for_query(b"I"), b"Z\0\0\0\x05I"),
    (wire.command_complete("SELECT 1"), b"C\0\0\0\x0dSELECT 1\0"),
    (wire.empty_query_response(), b"I\0\0\0\x04"),
    (wire.parse_complete(), b"1\0\0\0\x04"),
    (wire.bind_complete(), b"2\0\0\0\x04"),
    (wire.close_complete(), b"3\0\0\0\x04"),
    (wire.no_data(), b"n\0\0\0\x04"),
    (wire.portal_suspended(), b"s\0\0\0\x04"),
    (wire.parameter_description([23, 25]), b"t\0\0\0\x0e\0\x02\0\0\0\x17\0\0\0\x19"),
    (wire.data_row([b"1", None]), b"D\0\0\0\x0f\0\x02\0\0\0\x011\xff\xff\xff\xff"),
    (wire.error_response({"S": "ERROR", "C": "42P01", "M": "x"}),
     b"E\0\0\0\x16SERROR\0C42P01\0Mx\0\0"),
    (wire.row_description([wire.FieldSpec(name="a", oid=23, type_modifier=-1,
                                          format_code=1)]),
     b"T\0\0\0\x1a\0\x01a\0\0\0\0\0\0\0\0\0\0\x17\xff\xff\xff\xff\xff\xff\0\x01"),
    (wire.message(b"c"), b"c\0\0\0\x04"),
])
def test_message_builders(built, golden):
    assert built == golden


def test_message_parsers():
    parse = wire.parse_parse(b"s1\0select $1\0\0\x01\0\0\0\x17")
    assert (parse.statement_name, parse.sql, parse.param_oids) == ("s1", "select $1", [23])
    bind = wire.parse_bind(b"p\0s1\0\0\x01\0\x01\0\x02\0\0\0\x02ab\xff\xff\xff\xff\0\x01\0\x01")
    assert (bind.portal_name, bind.statement_name, bind.param_format_codes, bind.params,
            bind.result_format_codes) == ("p", "s1", [1], [b"ab", None], [1])
    describe = wire.parse_describe(b"Ss1\0")
    assert (describe.kind, describe.name) == (wire.TARGET_STATEMENT, "s1")
    assert wire.parse_close(b"Pp\0").name == "p"
    execute = wire.parse_execute(b"p\0\0\0\0\x05")
    assert (execute.portal_name, execute.max_rows) == ("p", 5)
    assert wire.parse_query(b"select 1\0") == "select 1"
    assert wire.parse_startup_message(b"user\0u\0database\0d\0\0") == {"user": "u",
                                                                      "database": "d"}
    assert wire.parse_cancel_request(struct.pack("!ii", 10001, -5)) == (10001, -5)
    assert (wire.SSL_REQUEST, wire.GSSENC_REQUEST, wire.CANCEL_REQUEST) == \
        (80877103, 80877104, 80877102)
    assert wire.unpack_int32(b"\0\0\1\0") == 256
    assert wire.pack_int16(-1) == b"\xff\xff"


def test_oids_and_arrays():
    o = wire.oids
    assert (o.BOOL, o.INT2, o.INT4, o.INT8, o.TEXT, o.FLOAT8, o.NUMERIC, o.DATE, o.TIMESTAMP,
            o.TIMESTAMPTZ, o.UUID, o.JSON, o.VARCHAR, o.BYTEA, o.INTERVAL) == \
        (16, 21, 23, 20, 25, 701, 1700, 1082, 1114, 1184, 2950, 114, 1043, 17, 1186)
    assert wire.ARRAY_OID[o.TEXT] == 1009 and wire.ELEMENT_OID[1016] == o.INT8
    assert wire.parse_array_literal('{a,"b c",NULL,"NULL"}') == ["a", "b c", None, "NULL"]


@pytest.mark.parametrize(("oid", "value", "text", "binary"), [
    (16, True, "t", b"\x01"),
    (21, -2, "-2", b"\xff\xfe"),
    (23, 7, "7", b"\0\0\0\x07"),
    (20, 2**40, str(2**40), struct.pack("!q", 2**40)),
    (701, 1.5, "1.5", struct.pack("!d", 1.5)),
    (1700, decimal.Decimal("12.50"), "12.50", b"\0\x02\0\0\0\0\0\x02\0\x0c\x13\x88"),
    (25, "é", "é", "é".encode()),
    (1082, dt.date(2000, 1, 2), "2000-01-02", b"\0\0\0\x01"),
    (1114, dt.datetime(2000, 1, 1, 0, 0, 1), "2000-01-01 00:00:01",
     struct.pack("!q", 1_000_000)),
    (2950, uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001",
     b"\0" * 15 + b"\x01"),
    (1186, dt.timedelta(days=1, seconds=2), None, struct.pack("!qii", 2_000_000, 1, 0)),
    (1007, [1, None], "{1,NULL}",
     struct.pack("!iiIii", 1, 1, 23, 2, 1) + struct.pack("!ii", 4, 1) + b"\xff\xff\xff\xff"),
])
def test_value_codecs(oid, value, text, binary):
    if text is not None:
        assert wire.encode_value(oid, value) == text
    assert wire.encode_value_binary(oid, value) == binary
    if oid not in (1186, 1007):  # parameters come back as their text form
        decoded = wire.decode_param(oid, binary, True)
        assert decoded == (text if oid != 701 else "1.5")
    assert wire.decode_param(1009, b"{a,b}", False) == ["a", "b"]
    assert wire.decode_param(25, b"x", False) == "x"


class _Pipe:
    """A stream for the SCRAM exchange: the server side of a scripted client."""

    def __init__(self, client) -> None:
        self.client, self.sent = client, []

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    async def drain(self) -> None:
        pass

    async def read_message(self):
        return b"p", self.client(self.sent[-1])


def _scram_client(password: str):
    from scramp import ScramClient

    client = ScramClient(["SCRAM-SHA-256"], "brainwh", password)

    def answer(last: bytes) -> bytes:
        kind = struct.unpack("!i", last[5:9])[0]
        if kind == 10:  # AuthenticationSASL: the initial response
            first = client.get_client_first().encode()
            return b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first
        client.set_server_first(last[9:].decode())
        return client.get_client_final().encode()

    return answer


@pytest.mark.parametrize(("tried", "expected"), [("right", True), ("wrong", False)])
def test_scram_exchange(tried, expected):
    pipe = _Pipe(_scram_client(tried))
    assert asyncio.run(wire.scram_login(pipe, "right")) is expected
    assert struct.unpack("!i", pipe.sent[0][5:9])[0] == 10  # the SASL challenge first
    if expected:
        assert struct.unpack("!i", pipe.sent[-1][5:9])[0] == 12  # SASLFinal


def test_a_malformed_scram_exchange_is_a_failed_login():
    pipe = _Pipe(lambda last: b"\xff garbage")
    assert asyncio.run(wire.scram_login(pipe, "right")) is False
