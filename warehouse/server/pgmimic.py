"""Everything brainwh serve takes from pg-mimic, in one place.

pg-mimic (0.1.x) gives us the Postgres wire messages (builders and parsers), the value codecs
(text and binary, arrays included) and the SCRAM-SHA-256 exchange. The connection state
machine, limits, statements and portals are ours (`protocol`, `session`): pg-mimic's own
connection loop has no pre-login limits and runs SQL parsing on the event loop.

No other module imports pg_mimic. `tests/test_server_pgmimic.py` checks every name used here
against golden bytes, so an upgrade that changes them fails loudly there, not in a client.
"""

from __future__ import annotations

import logging
import struct

from pg_mimic import PgError, ScramSha256AuthPlugin, messages
from pg_mimic import __version__ as VERSION
from pg_mimic import types as oids
from pg_mimic.arrays import ARRAY_OID, parse_array_literal
from pg_mimic.messages import FieldSpec
from pg_mimic.types import (
    decode_binary_param,
    encode_value,
    encode_value_binary,
    pack_int16,
    pack_int32,
    unpack_int32,
)

# pg_mimic logs every failed SCRAM exchange with a traceback; brainwh logs one line per login.
logging.getLogger("pg_mimic.auth").setLevel(logging.CRITICAL)

ELEMENT_OID = {array: element for element, array in ARRAY_OID.items()}

# frontend message tags
QUERY, PARSE, BIND, DESCRIBE, EXECUTE = b"Q", b"P", b"B", b"D", b"E"
CLOSE, SYNC, FLUSH, TERMINATE, PASSWORD = b"C", b"S", b"H", b"X", b"p"
COPY_DATA, COPY_DONE, COPY_FAIL = b"d", b"c", b"f"
SSL_REQUEST = messages.SSL_REQUEST_CODE
GSSENC_REQUEST = messages.GSSENC_REQUEST_CODE
CANCEL_REQUEST = messages.CANCEL_REQUEST_CODE
TARGET_STATEMENT = messages.TARGET_STATEMENT

parse_query = messages.parse_query
parse_parse = messages.parse_parse
parse_bind = messages.parse_bind
parse_describe = messages.parse_describe
parse_close = messages.parse_close
parse_execute = messages.parse_execute
parse_startup_message = messages.parse_startup_message
parse_cancel_request = messages.parse_cancel_request

authentication_ok = messages.make_authentication_ok
parameter_status = messages.make_parameter_status
backend_key_data = messages.make_backend_key_data
ready_for_query = messages.make_ready_for_query
row_description = messages.make_row_description
data_row = messages.make_data_row
command_complete = messages.make_command_complete
empty_query_response = messages.make_empty_query_response
error_response = messages.make_error_response
notice_response = messages.make_notice_response
parse_complete = messages.make_parse_complete
bind_complete = messages.make_bind_complete
close_complete = messages.make_close_complete
no_data = messages.make_no_data
portal_suspended = messages.make_portal_suspended
parameter_description = messages.make_parameter_description


def message(tag: bytes, payload: bytes = b"") -> bytes:
    """A backend message pg-mimic has no builder for (CopyOutResponse, CopyData, ...)."""
    return tag + pack_int32(len(payload) + 4) + payload


def decode_param(oid: int, value: bytes, binary: bool):
    """A Bind parameter as text (str), a list of texts for arrays, or raises ValueError."""
    if not binary:
        text = value.decode("utf-8")
        return parse_array_literal(text) if oid in ELEMENT_OID else text
    return decode_binary_param(oid, value)


async def scram_login(stream, password: str) -> bool:
    """Run the SCRAM-SHA-256 exchange on `stream` (write/drain/read_message) against
    `password`; False for a wrong password or a malformed exchange."""
    class Provider:
        async def get_password(self, _user: str) -> str:
            return password

    try:
        return await ScramSha256AuthPlugin().authenticate(stream, "", Provider())
    except (PgError, ValueError, UnicodeError, IndexError, KeyError, struct.error):
        return False


__all__ = ["ARRAY_OID", "ELEMENT_OID", "FieldSpec", "PgError", "VERSION", "encode_value",
           "encode_value_binary", "oids", "pack_int16", "pack_int32", "parse_array_literal",
           "unpack_int32"]
