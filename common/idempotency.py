"""`Idempotency-Key` on every POST of the API: a retry never does the work twice.

A middleware, so that every POST endpoint has it, including ones added later, without opting in:

- The first request with a key claims it: a row is inserted in its own committed transaction, and
  the unique (scope, key) constraint decides between two first requests racing each other.
- The request runs in one transaction with the storing of its answer — status, body, content type,
  `Location` and `ETag` — on the row: the work and its answer commit together, so a retry after any
  failure finds both or neither. 4xx answers are stored too: the same request would fail the same
  way. Not stored (the row is deleted, so a retry runs again): 5xx (the work was rolled back), 401
  (not yet a caller), 408 and 429, and any answer with `Retry-After` (a deadlock's 409: try again).
- A retry with the same key and the same request (method, path, query and the very same body
  bytes) gets the stored answer with `Idempotent-Replayed: true`, without doing anything again.
  The same key with another request → 422; while the first is still running → 409.
- Not on the endpoints that issue tokens (register, login, refresh): their answers hold live
  refresh tokens, which must never be stored (a stored one could be replayed after a logout). A
  key sent there is accepted and ignored: every request does its work.
- Keys are per caller: `user:<id>` for a valid bearer token, else `ip:<client address>`. Kept
  24 hours: an older key is treated as new, and `manage.py prune_idempotency_keys` deletes old
  rows. A request that claimed a key and never finished (a worker killed mid-request: its work
  was rolled back with its connection) does not hold the key: on PostgreSQL a running request
  holds an advisory lock on its key, which dies with its connection, so a retry runs at once;
  elsewhere the claim is released after RUNNING_TIMEOUT.
- Replays and refusals count against the rate limits like the request would, and carry the
  RateLimit headers (this middleware sits inside RateLimitHeadersMiddleware).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from .models import IdempotencyRecord
from .refusals import problem_response

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
RETENTION = timedelta(hours=24)
RUNNING_TIMEOUT = timedelta(minutes=5)
KEY_MAX = 255
KEY_PATTERN = re.compile(rf"^[\x21-\x7e]{{1,{KEY_MAX}}}$")  # visible ASCII, as clients send UUIDs or similar
_KEPT_HEADERS = ("Location", "ETag")
_NOT_KEPT = {401, 408, 429}
# Their answers carry live tokens (or a new app password): never stored, the key is ignored.
TOKEN_PATHS = frozenset({"/api/auth/register", "/api/auth/login", "/api/auth/refresh", "/api/auth/app-passwords"})


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        if request.path_info.rstrip("/") in TOKEN_PATHS:
            return self.get_response(request)
        if not KEY_PATTERN.match(key):  # counted against the rate limits too, so it carries the RateLimit headers
            return _throttled(request, _caller(request)) or problem_response(
                400,
                "validation-error",
                "Invalid input.",
                f"{HEADER} must be 1 to {KEY_MAX} visible ASCII characters.",
                errors={HEADER: [f"Must be 1 to {KEY_MAX} visible ASCII characters."]},
            )
        user = _caller(request)
        scope = f"user:{user.pk}" if user is not None else f"ip:{BaseThrottle().get_ident(request)}"
        fingerprint = _fingerprint(request)
        lock = _RunningLock(scope, key)
        if not lock.acquire():  # the first request with this key is running right now
            existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
            return _throttled(request, user) or _answer_retry(existing, fingerprint)
        try:
            record, existing = _claim(scope=scope, key=key, user=user, fingerprint=fingerprint, alone=lock.held)
            if record is None:
                return _throttled(request, user) or _answer_retry(existing, fingerprint)

            finished = False
            try:
                # The work and its stored answer commit together: a retry finds either both or neither,
                # even when the database or the worker dies right after the commit. A failure to store
                # rolls the work back (and is answered 5xx, so a retry runs it again).
                with transaction.atomic():
                    response = self.get_response(request)
                    if _kept(response) and response.status_code < 400:
                        _store(record, response)
                finished = True
            finally:
                if not finished:  # an exception went through every handler: let a retry run
                    IdempotencyRecord.objects.filter(pk=record.pk).delete()
            if not _kept(response):
                IdempotencyRecord.objects.filter(pk=record.pk).delete()
            elif response.status_code >= 400:  # no work to keep: the refusal is stored on its own
                try:
                    _store(record, response)
                except DatabaseError:  # answer it; a retry waits out the claim
                    logger.exception("could not store the answer for idempotency key %s", record.pk)
            return response
        finally:
            lock.release()


class _RunningLock:
    """PostgreSQL: a session advisory lock on (scope, key), held on the request's connection while it runs.

    It tells a running request from an abandoned claim at once: PostgreSQL releases it when the
    connection ends, so a worker killed mid-request frees its key for a retry immediately instead of
    after RUNNING_TIMEOUT. Other databases (SQLite: one process) have no lock and keep the timeout.
    """

    def __init__(self, scope: str, key: str) -> None:
        digest = hashlib.sha256(f"{scope}\n{key}".encode()).digest()
        # One bigint key: that key space is apart from the two-int one of the calendar locks.
        self.id = int.from_bytes(digest[:8], "big", signed=True)
        self.held = False

    def acquire(self) -> bool:
        """False when another session holds it (the request with this key is still running)."""
        if connection.vendor != "postgresql":
            return True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [self.id])
            self.held = bool(cursor.fetchone()[0])
        return self.held

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [self.id])
        except DatabaseError:  # the connection is gone, and its locks with it
            logger.warning("could not release the idempotency lock %s", self.id, exc_info=True)


def _caller(request: HttpRequest):
    """The user a valid bearer token names, else the browser session's user, else None (the view will answer
    401 if it needs one). A session's keys are its user's: keyed by address, an anonymous request with the same
    key would be answered the logged-in person's kept answer."""
    if not request.headers.get("Authorization"):
        user = getattr(request, "user", None)  # AuthenticationMiddleware's, from the session cookie
        return user if user is not None and user.is_authenticated else None
    # The API's own token authentication classes (settings), so this middleware names no app's module; a
    # session was read above, from the request itself.
    for authentication in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
        if issubclass(authentication, SessionAuthentication):
            continue
        try:
            found = authentication().authenticate(request)
        except exceptions.APIException:
            return None
        if found:
            return found[0]
    return None


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    path = request.path.rstrip("/") or "/"  # both spellings of a path are the same resource
    for part in (request.method.encode(), path.encode(), request.META.get("QUERY_STRING", "").encode()):
        digest.update(part + b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def _claim(*, scope: str, key: str, user, fingerprint: str, alone: bool = False):
    """(the new row, None) when this request is the first with the key, else (None, the row it found).

    `alone`: this request holds the key's running lock, so a row without an answer is a claim whose
    request died (its worker was killed): it is taken over at once.
    """
    existing = None
    for _ in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                return (
                    IdempotencyRecord.objects.create(
                        scope=scope, key=key, user=user, fingerprint=fingerprint, created_at=now
                    ),
                    None,
                )
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if existing is None:
            continue  # its request failed and released the key meanwhile
        expired = existing.created_at <= now - RETENTION
        abandoned = existing.status_code is None and (alone or existing.created_at <= now - RUNNING_TIMEOUT)
        if not (expired or abandoned):
            return None, existing
        IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
    return None, existing


def _kept(response: HttpResponse) -> bool:
    """Whether a retry gets this answer again. Not: 5xx (the work was rolled back), 401 (not yet a
    caller), 408 and 429, and any answer asking for a retry (`Retry-After`: a deadlock's 409)."""
    status = response.status_code
    return not (status >= 500 or status in _NOT_KEPT or response.has_header("Retry-After") or response.streaming)


def _store(record: IdempotencyRecord, response: HttpResponse) -> None:
    record.status_code = response.status_code
    record.content_type = response.get("Content-Type", "")
    record.headers = {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)}
    record.body = response.content
    record.save(update_fields=["status_code", "content_type", "headers", "body"])


def _answer_retry(existing: IdempotencyRecord | None, fingerprint: str) -> HttpResponse:
    if existing is not None and existing.fingerprint != fingerprint:
        return problem_response(
            422,
            "idempotency-key-reused",
            "Idempotency-Key reused with another request.",
            "This Idempotency-Key was used for a different request (method, path or body); use a new key.",
        )
    if existing is None or existing.status_code is None:
        response = problem_response(
            409,
            "idempotency-key-in-use",
            "A request with this Idempotency-Key is still running.",
            "Retry when it has finished to get its answer.",
        )
        response["Retry-After"] = "1"
        return response
    response = HttpResponse(bytes(existing.body), status=existing.status_code)
    if existing.content_type:
        response["Content-Type"] = existing.content_type
    else:
        del response["Content-Type"]
    for name, value in existing.headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def _throttled(request: HttpRequest, user) -> HttpResponse | None:
    """Count a replay or refusal against the view's rate limits (which set the RateLimit headers); 429 above them."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    view_class = getattr(match.func, "cls", None)
    if view_class is None:
        return None
    view = view_class(**getattr(match.func, "initkwargs", {}))
    view.action = getattr(match.func, "actions", {}).get("post")
    view.request = drf_request = Request(request, parsers=view.get_parsers())
    drf_request.user = user or AnonymousUser()
    view.args, view.kwargs = match.args, match.kwargs
    waits = []
    try:
        for throttle in view.get_throttles():
            if not throttle.allow_request(drf_request, view):
                waits.append(throttle.wait())
    except exceptions.APIException:  # a body the throttle cannot read; the stored answer says what was wrong
        return None
    if not waits:
        return None
    wait = max((w for w in waits if w is not None), default=1)
    response = problem_response(429, "rate-limited", "Too many requests.", "Request was throttled.")
    response["Retry-After"] = str(max(1, int(wait)))
    return response
