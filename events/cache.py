"""Per-caller cached answers for event reads (detail, list pages, occurrences), never stale.

Answers are cached under keys that embed *generation tokens*:

- `gen:event:<id>`: replaced whenever the event or any permission on it changes (detail and
  occurrence answers depend on the event, its permissions list, the caller's role and access);
- `gen:user:<id>`: replaced whenever anything changes on any event the user holds (or held) a role
  on (list pages depend on the whole calendar).

A read looks the token up and then the answer filed under it; on Redis both in one script, sent in the
round trip that counts the request against its rate limit (`look_up_early`, before the throttles run,
and common/throttling.py `ride_along`), so a hit costs that one trip and a miss two (the second stores
the answer, after it is sent).

Invalidation is replacing a token (O(1) per key, nothing is scanned or deleted): entries under the
old token are simply never read again and expire. Tokens are random, so a token lost from the cache
(eviction, restart) can never come back with a value that old entries carry.

Order matters, because a read can race a write: the reader fetches the tokens *before* reading the
database, and the writer replaces them *after* its commit (`transaction.on_commit`). A reader that
read the old rows therefore stores them under tokens that are already dead or about to be. Tokens are
also replaced at once when the change is made, so a later read in the same transaction (and tests,
whose transactions never commit) sees the change too.

What triggers it: every versioned change of an event or a permission — simple-history's
`post_create_historical_record`, which every write of either model passes through, whichever
service (or the admin) made it — and bulk creations, which send no signals, by an explicit call.
Entries also expire after CACHE_SECONDS, a backstop for a cache that was unreachable during a
bump (cache errors are ignored, failing open). With the local-memory cache (no REDIS_URL) every
process has its own cache: that is right for one process, which is what the default setup runs.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from functools import partial

from django.core.cache import cache, caches
from django.db import transaction
from django_redis.cache import RedisCache, omit_exception
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework.response import Response

from common.after_answer import after_answer
from common.throttling import ride_along
from sharing.models import EventPermission

from .models import Event

CACHE_SECONDS = 300
_KEPT_HEADERS = ("ETag",)


def _gen_key(kind: str, pk: int) -> str:
    return f"gen:{kind}:{pk}"


def _new_token() -> int:
    # An integer, so that Redis holds it as digits (django-redis pickles anything else), which the lookup
    # script below puts into the answer's key.
    return secrets.randbits(63)


def _tokens(keys: list[str]) -> list[str] | None:
    """The current token of each key (made when missing); None when the cache cannot give them."""
    found = cache.get_many(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        for key in missing:
            cache.add(key, _new_token(), timeout=None)
        found.update(cache.get_many(missing))
    if any(key not in found for key in keys):
        return None  # the cache is down: do not cache
    return [str(found[key]) for key in keys]


def user_token(user_id: int) -> str | None:
    """The current generation token of everything `user_id` can see (None when the cache is down): a key
    that embeds it is never read again once any of those events or their permissions change."""
    tokens = _tokens([_gen_key("user", user_id)])
    return tokens[0] if tokens else None


def _bump(*, events: Iterable[int] = (), users: Iterable[int] = ()) -> None:
    fresh = {_gen_key("event", pk): _new_token() for pk in events}
    fresh.update({_gen_key("user", pk): _new_token() for pk in users})
    if fresh:
        cache.set_many(fresh, timeout=None)


def _keys(kind: str, request, event_id: int | None) -> tuple[str, Callable[[str], str]]:
    """(the generation key the answer depends on, its key under a token of that generation)."""
    user_id = request.user.pk
    dependency = _gen_key("event", event_id) if event_id is not None else _gen_key("user", user_id)
    variant = hashlib.sha256(f"{request.get_host()}\n{request.get_full_path()}".encode()).hexdigest()[:32]
    return dependency, lambda token: f"answer:{kind}:{user_id}:{event_id or '-'}:{token}:{variant}"


def look_up_early(kind: str, *, request, event_id: int | None = None) -> None:
    """On Redis, the lookup that `cached_response(kind, ...)` will make for this request, sent now in the round
    trip that counts the request against its rate limit (common/throttling.py `ride_along`): one trip where
    there were two. Called before the throttles run; it still reads the token before the database."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache) or not request.user.is_authenticated:
        return
    lookup = _Lookup(backend, *_keys(kind, request, event_id))
    ride_along(request, lookup)
    getattr(request, "_request", request).event_cache_lookup = lookup


def cached_response(kind: str, *, request, build: Callable[[], Response], event_id: int | None = None) -> Response:
    """The answer `build()` gives this caller for this request, from the cache while nothing it depends on changed.

    Only 200 answers are kept (with their ETag); errors (404 for an event the caller cannot see) are
    built every time.
    """
    dependency, answer_key = _keys(kind, request, event_id)
    found = _looked_up_early(request, dependency, answer_key) or _lookup(dependency, answer_key)
    if found is None:  # the cache is down
        return build()
    key, hit = found  # the token was read BEFORE the database: see the module docstring
    if hit is not None:
        data, headers = hit
        return Response(data, headers=headers)
    response = build()
    if response.status_code == 200:
        headers = {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)}
        after_answer(partial(cache.set, key, (response.data, headers), timeout=CACHE_SECONDS))  # once it is sent
    return response


def _looked_up_early(request, dependency: str, answer_key: Callable[[str], str]) -> tuple[str, object] | None:
    """What `look_up_early` found for this very lookup (None if it made none, or its trip failed)."""
    lookup = getattr(request, "_request", request).__dict__.pop("event_cache_lookup", None)
    if lookup is None or (lookup.dependency, lookup.answer_key(_MARK)) != (dependency, answer_key(_MARK)):
        return None
    return lookup.found


def _lookup(dependency: str, answer_key: Callable[[str], str]) -> tuple[str, object] | None:
    """(the key of the answer under `dependency`'s current token, the answer kept there or None); None when
    the cache is down. On Redis one round trip (`_LOOKUP`), else two calls."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        return _redis_lookup(backend, dependency, answer_key)
    tokens = _tokens([dependency])
    if tokens is None:
        return None
    key = answer_key(tokens[0])
    return key, cache.get(key)


# KEYS[1]: the generation key; ARGV[1]: a new token, its token if it has none (or one this code did not make:
# replacing a token is what invalidation does, never wrong); ARGV[2], ARGV[3]: the answer's key before and after
# the token. Answers {token, the answer or nil}. The answer's key is not in KEYS: one Redis, not a cluster.
_LOOKUP = """
local token = redis.call('GET', KEYS[1])
if not token or not string.match(token, '^%d+$') then
  token = ARGV[1]
  redis.call('SET', KEYS[1], token)
end
return {token, redis.call('GET', ARGV[2] .. token .. ARGV[3])}
"""
_MARK = "\x00token\x00"


class _Lookup:
    """One lookup on Redis (`_LOOKUP`): its command, sent alone or with another's (a pipeline), and what its reply
    says: `found`, (the answer's key, the answer kept there or None), once it is received."""

    def __init__(self, backend: RedisCache, dependency: str, answer_key: Callable[[str], str]) -> None:
        self.backend, self.dependency, self.answer_key = backend, dependency, answer_key
        self.found: tuple[str, object] | None = None

    def send(self, client):
        before, after = self.backend.client.make_key(self.answer_key(_MARK)).split(_MARK)
        return client.eval(_LOOKUP, 1, self.backend.client.make_key(self.dependency), _new_token(), before, after)

    def receive(self, reply) -> None:
        token, raw = reply
        self.found = self.answer_key(token.decode()), None if raw is None else self.backend.client.decode(raw)


@omit_exception  # django-redis's own fail-open: logged (once per outage, common/redis_breaker.py), None answered
def _redis_lookup(backend: RedisCache, dependency: str, answer_key: Callable[[str], str]) -> tuple[str, object]:
    lookup = _Lookup(backend, dependency, answer_key)
    client = backend.client.get_client(write=True)
    try:
        lookup.receive(lookup.send(client))
    except (RedisError, OSError) as error:
        raise ConnectionInterrupted(connection=client) from error
    return lookup.found


class _Invalidation:
    """What one transaction changed: bumped at once and again after the commit."""

    def __init__(self) -> None:
        self.holders: dict[int, set[int]] = {}
        self.users: set[int] = set()

    def event_changed(self, event_id: int, user_ids: Iterable[int] = ()) -> None:
        if event_id not in self.holders:
            self.holders[event_id] = set(
                EventPermission.objects.filter(event_id=event_id).values_list("user_id", flat=True)
            )
        self.holders[event_id].update(user_ids)
        _bump(events=[event_id], users=self.holders[event_id])

    def users_changed(self, user_ids: Iterable[int]) -> None:
        self.users.update(user_ids)
        _bump(users=user_ids)

    def __call__(self) -> None:
        _bump(events=self.holders, users=self.users.union(*self.holders.values()))


def _pending() -> _Invalidation:
    """This transaction's invalidation, registered with on_commit the first time something changes."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _sids, callback, _robust in connection.run_on_commit:
            if isinstance(callback, _Invalidation):
                return callback
    invalidation = _Invalidation()
    transaction.on_commit(invalidation)  # runs at once outside a transaction
    return invalidation


def invalidate_event(event_id: int, *, user_ids: Iterable[int] = ()) -> None:
    """The event (or its permissions) changed: its answers and its holders' lists are stale."""
    _pending().event_changed(event_id, user_ids)


def invalidate_users(user_ids: Iterable[int]) -> None:
    """These users' calendars changed (e.g. events created for them in bulk)."""
    _pending().users_changed(list(user_ids))


def on_historical_record(sender, instance, history_instance, **kwargs) -> None:
    """simple-history's post_create_historical_record: every versioned event or permission write lands here."""
    if isinstance(instance, Event) and instance.pk is not None:
        invalidate_event(instance.pk)
    elif isinstance(instance, EventPermission) and instance.event_id is not None:
        # A revoked user is no longer a holder by now: name them, their list must change too.
        invalidate_event(instance.event_id, user_ids=[instance.user_id])
