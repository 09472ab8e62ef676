"""MessagePack renderer and parser: the same data as JSON, under either media type of the contract."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import msgpack
from django.utils.encoding import force_str
from django.utils.functional import Promise
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime.datetime):
        return obj.isoformat()  # RFC 3339 strings, as in JSON: clients need not know msgpack timestamps
    if isinstance(obj, (datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, datetime.timedelta):
        return obj.total_seconds()
    if isinstance(obj, (decimal.Decimal, uuid.UUID, Promise)):
        return force_str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"Cannot encode {type(obj).__name__} as MessagePack")


def packb(data: Any) -> bytes:
    return msgpack.packb(data, default=_default, use_bin_type=True, datetime=False)


class MessagePackRenderer(BaseRenderer):
    media_type = "application/msgpack"
    format = "msgpack"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        if data is None:
            return b""
        return packb(data)


class XMessagePackRenderer(MessagePackRenderer):
    media_type = "application/x-msgpack"
    format = "x-msgpack"


class MessagePackParser(BaseParser):
    media_type = "application/msgpack"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            # timestamp=3: a msgpack timestamp arrives as an aware datetime, which the serializers accept.
            return msgpack.unpackb(raw, raw=False, strict_map_key=True, timestamp=3)
        except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
            raise ParseError(f"Malformed MessagePack body: {exc}") from exc
        except RecursionError as exc:
            raise ParseError("Malformed MessagePack body: nested too deeply.") from exc


class XMessagePackParser(MessagePackParser):
    media_type = "application/x-msgpack"
