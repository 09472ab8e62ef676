"""Where one call's time goes, layer by layer: py-spy samples the uvicorn worker while the client runs.

    .venv/bin/python bench/profile_requests.py --backend embedded --call list [--py-spy PATH]

The data and the client are those of `bench/bench_requests.py` (a fresh user, 2,000 events through
the batch endpoint). The server is started once to load the data, then again under `py-spy record`
(the thread holding the GIL, sampled without pausing the process: where Python runs) for the
WARMUP + 500 requests of `--call` only. The list asks for pages 1 to 100 in turn, with an untimed
PATCH after each round (not one before each request, which would be most of the profile): each a miss.
SQL executing in SQLite or waiting on PostgreSQL holds no GIL: see EXPLAIN ANALYZE for that part.
Each sample is given to the innermost layer its stack passes through (a query run by authentication
counts for authentication; `--by resource` gives it to the SQL driver instead), and the table prints
each layer's share of the busy samples and its time per request (share × the measured median).
The raw stacks are kept (`--keep`) for a flame graph.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_requests import (  # noqa: E402
    REQUESTS,
    Client,
    paths,
    prepare,
    setup,
    timed,
)
from bench.server import UNTHROTTLED, start_server, stop_server  # noqa: E402

# (label, substrings of a frame): the first label, from the leaf up, whose substring is in a frame.
STAGES = [
    ("ETag digest", ["common/conditional.py"]),
    ("rendering (JSON/MessagePack)", ["rest_framework/renderers.py", "common/msgpack.py", "json/encoder.py"]),
    ("serialization", ["serializers.py", "rest_framework/fields.py", "rest_framework/relations.py"]),
    ("throttling", ["throttling.py"]),
    ("authentication (JWT, user + revoked-token query)", ["authentication.py", "rest_framework_simplejwt/"]),
    ("content negotiation", ["negotiation.py"]),
    ("pagination (COUNT + page query)", ["pagination.py", "django/core/paginator.py"]),
    ("event cache (generations, answer)", ["events/cache.py"]),
    ("idempotency middleware", ["common/idempotency.py"]),
    ("selectors / view (queries, building rows)", ["/selectors.py", "events/views.py", "history/views.py"]),
    ("view dispatch (DRF APIView)", ["rest_framework/views.py", "rest_framework/viewsets.py"]),
    ("URL routing", ["django/urls/"]),
    ("middleware: RequestId / RequestContext", ["common/middleware.py:2", "common/middleware.py:1"]),
    ("middleware: Security", ["django/middleware/security.py"]),
    ("middleware: WhiteNoise", ["whitenoise/"]),
    ("middleware: CORS", ["corsheaders/"]),
    ("middleware: Session", ["django/contrib/sessions/"]),
    ("middleware: Common", ["django/middleware/common.py"]),
    ("middleware: CSRF", ["django/middleware/csrf.py"]),
    ("middleware: Authentication (lazy user)", ["django/contrib/auth/middleware.py"]),
    ("middleware: Messages", ["django/contrib/messages/"]),
    ("middleware: Clickjacking", ["django/middleware/clickjacking.py"]),
    ("middleware: other common/ (body size, RateLimit headers)", ["common/middleware.py"]),
    ("Django handler (request, response, signals)", ["django/core/handlers/", "django/http/", "django/dispatch/"]),
    ("database connection open/close", ["django/db/__init__.py", "django/db/backends/base/base.py"]),
    ("sync/async hop (asgiref, thread pool)", ["asgiref/", "concurrent/futures/", "threading.py"]),
    ("uvicorn + event loop (HTTP parsing, ASGI)", ["uvicorn/", "asyncio/", "uvloop"]),
]
RESOURCES = [
    ("SQL: driver and database", ["sqlite3/", "psycopg/", "psycopg_pool/", "django/db/backends/"]),
    ("SQL: Django compiling queries", ["django/db/models/sql/"]),
    ("ORM: building model instances", ["django/db/models/"]),
    ("Redis client", ["redis/", "django_redis/"]),
    ("local-memory cache", ["django/core/cache/"]),
    ("JSON", ["json/"]),
]


def classify(stack: list[str], table) -> str:
    for frame in reversed(stack):
        for label, needles in table:
            if any(needle in frame for needle in needles):
                return label
    return "other"


# Start-up (imports, django.setup()) is sampled too, since py-spy starts the server: left out.
STARTUP = ("importlib._bootstrap", "django/__init__.py", "uvicorn/importer.py", "uvicorn/main.py")


def breakdown(raw: Path, table) -> Counter:
    counts: Counter = Counter()
    for line in raw.read_text().splitlines():
        stack_text, _, number = line.rpartition(" ")
        if not number.isdigit() or any(marker in stack_text for marker in STARTUP):
            continue
        counts[classify(stack_text.split(";"), table)] += int(number)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["embedded", "postgres"], default="embedded")
    parser.add_argument("--call", choices=["me", "404", "list", "detail", "occurrences", "changelog"], default="list")
    parser.add_argument("--by", choices=["stage", "resource"], default="stage")
    parser.add_argument("--py-spy", default="py-spy")
    parser.add_argument("--rate", type=int, default=1000, help="samples per second")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 18260)))
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/calendar_perf_profile"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"))
    parser.add_argument("--keep", help="write the raw stacks (collapsed format) here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        env = prepare(args.backend, args, ROOT, Path(workdir))
        process = start_server(env, args.port, 1)
        try:
            client, ids, _ = setup(Client(args.port), args.backend, env)
        finally:
            stop_server(process)
        requests = paths(args.call, ids, random.Random(1))
        between = None
        if args.call == "list":
            requests = [(f"/api/events?page={1 + n % 100}", None) for n in range(len(requests))]

            def between(index: int) -> None:
                if (index + 1) % 100 == 0:
                    client.request("PATCH", f"/api/events/{ids[-1]}", {"title": f"Last {index}"})

        raw = Path(args.keep or Path(workdir) / "stacks.txt")
        command = [args.py_spy, "record", "--nonblocking", "--gil", "--threads", "-r", str(args.rate), "-f", "raw"]
        command += ["-o", str(raw), "--", sys.executable, "-m", "uvicorn", "config.asgi:application"]
        command += ["--port", str(args.port), "--lifespan", "off", "--log-level", "warning", "--no-access-log"]
        spy = subprocess.Popen(command, cwd=ROOT, env={**env, **UNTHROTTLED}, start_new_session=True)
        try:
            for _ in range(100):
                try:
                    Client(args.port).request("GET", "/api/auth/me")
                    break
                except OSError:
                    time.sleep(0.3)
            client = Client(args.port, client.headers["Authorization"].split()[1])
            expect = 404 if args.call == "404" else 200
            result = timed(client, requests, expect, between=between)
        finally:
            os.kill(spy.pid, signal.SIGINT)  # py-spy writes its samples, then the server is stopped
            spy.wait(timeout=60)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(spy.pid, signal.SIGTERM)
        counts = breakdown(raw, STAGES if args.by == "stage" else RESOURCES)
    sent = len(requests) + (len(requests) // 100 if args.call == "list" else 0)
    total = sum(counts.values()) or 1
    print(f"{args.call} on {args.backend}: {REQUESTS} requests, median {result['median']:.2f} ms under the profiler")
    print(f"busy samples: {total / args.rate * 1000 / sent:.2f} ms of server CPU per request")
    print(f"{'layer':58} {'share':>6} {'ms/request':>10}")
    for label, count in counts.most_common():
        print(f"{label:58} {count / total:6.1%} {count / args.rate * 1000 / sent:10.2f}")


if __name__ == "__main__":
    main()
