"""Who is asking, from where: the request's IP, user agent and id, for code that has no request (the audit).

`RequestContextMiddleware` sets it for each HTTP request; outside a request (management commands,
tests calling services directly) it is empty. A contextvar, so it is per request under ASGI too.
"""

from __future__ import annotations

import ipaddress
from contextvars import ContextVar
from dataclasses import dataclass

USER_AGENT_MAX = 512


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""


_EMPTY = RequestContext()
_current: ContextVar[RequestContext] = ContextVar("request_context", default=_EMPTY)


def current() -> RequestContext:
    return _current.get()


def set_current(context: RequestContext):
    """Set the context; returns the token `reset` needs."""
    return _current.set(context)


def reset(token) -> None:
    _current.reset(token)


def valid_ip(value: str | None) -> str | None:
    """`value` if it is an IP address (a forwarded header can hold anything), else None."""
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None
