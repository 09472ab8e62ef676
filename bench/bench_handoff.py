"""What handing a request to another thread costs: the same Django work, on the thread that asked and off it.

    .venv/bin/python bench/bench_handoff.py            # a fresh SQLite database in a temporary directory

An API request that is not a quick read runs on a kept worker thread while the event loop waits
(common/asgi_handler.py; a quick read with nothing else in flight runs on the loop's own thread). This
measures, in process and without a server, the whole of Django's work for one request (`_respond`: the
signals, the middleware, the view, the answer) for the authenticated no-op (`GET /api/auth/me`) and an
event's detail (a cache hit), 1,000 times each after a warm-up (median µs):

- `caller`: on the calling thread, one after another (no hand-off at all);
- `worker, in a row`: all of them inside one task on a worker thread (one hand-off for the lot);
- `handed off`: each a task of its own, submitted from the calling thread, which waits for it, as the
  event loop does: two hand-offs per request, and the two threads may run on different cores;
- `handed off, one core`: the same with the process pinned to one CPU (both threads share its caches).

On the development machine the hand-off, not the work, was most of a request's fixed cost
(docs/PERFORMANCE.md, "Third round").
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_workdir = tempfile.mkdtemp(prefix="bench-handoff-")
os.environ["SQLITE_PATH"] = str(Path(_workdir) / "handoff.sqlite3")
for _name in ("DATABASE_URL", "REDIS_URL"):
    os.environ.pop(_name, None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment-0123456789")
os.environ.setdefault("THROTTLE_USER", "1000000/min")  # every call does an allowed request's full work
subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], check=True, cwd=ROOT)

import django  # noqa: E402

django.setup()

from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.models import User  # noqa: E402
from config.asgi import django_asgi_app  # noqa: E402  (the server's own handler)
from events.models import Event  # noqa: E402
from tests.factories import make_event  # noqa: E402
from tests.helpers import http_scope  # noqa: E402

CALLS = 1000
WARMUP = 100


def scope(path: str, token: str) -> dict:
    return http_scope(path, headers=((b"authorization", f"Bearer {token}".encode()),))


def one(request: dict) -> float:
    began = time.perf_counter()
    response = django_asgi_app._respond(dict(request), io.BytesIO())
    took = time.perf_counter() - began
    assert response.status_code == 200, response.content[:300]
    return took


def in_a_row(request: dict, count: int) -> list[float]:
    return [one(request) for _ in range(count)]


def median_us(samples: list[float]) -> float:
    return statistics.median(samples[WARMUP:]) * 1e6


def measure(request: dict) -> dict[str, float]:
    worker = ThreadPoolExecutor(max_workers=1)
    found = {
        "caller": median_us(in_a_row(request, WARMUP + CALLS)),
        "worker, in a row": median_us(worker.submit(in_a_row, request, WARMUP + CALLS).result()),
        "handed off": median_us([worker.submit(one, request).result() for _ in range(WARMUP + CALLS)]),
    }
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})  # the worker thread (made earlier) is moved with its own call below
    pinned = ThreadPoolExecutor(max_workers=1)  # made now: it inherits the single CPU
    found["handed off, one core"] = median_us([pinned.submit(one, request).result() for _ in range(WARMUP + CALLS)])
    os.sched_setaffinity(0, cores)
    worker.shutdown()
    pinned.shutdown()
    return found


def main() -> None:
    user = User.objects.create_user("handoff", "handoff@example.com", "handoff-password-123")
    event = make_event(user, title="Hand-off")
    token = str(AccessToken.for_user(user))
    assert Event.objects.count() == 1
    print(f"{'call':10} {'where':24} {'median µs':>10}")
    for name, path in (("me", "/api/auth/me"), ("detail", f"/api/events/{event.pk}")):
        for where, value in measure(scope(path, token)).items():
            print(f"{name:10} {where:24} {value:10.0f}")


if __name__ == "__main__":
    main()
