"""Scaling curves: the same calls, for the same kind of caller, at 1,000, 10,000 and 100,000 events.

One command builds (or reuses) one PostgreSQL database per size with `manage.py generate_data`, then
times each call one request after another, in process through the whole stack (routing, JWT auth,
throttling, views, serializers, the database, the Redis cache), and writes the figures:

    .venv/bin/python bench/bench_scaling.py                      # builds calendar_scaling_{1k,10k,100k}
    .venv/bin/python bench/bench_scaling.py --reuse              # reuses them (100k takes minutes to build)

Every size has 4 permissions per event and one user per 50 events, so the caller — the user whose
number of visible events is nearest the mean, 200 — has the same shape of calendar at every size:
only the amount of OTHER people's data grows. That is the point: a call whose work is the same must
cost the same, whatever the size of the tables around it.

Reads are cache misses (before each, untimed, every answer cached for the caller is made stale, as any
change of their events does, so the miss path, Redis lookups included, is timed) except the rows marked
"cache hit". Writes (a create with its conflict check, a batch of 500) run inside a transaction that
is rolled back, so the data sets stay as built and every run finds the same calendar.

Sizes are measured in turns (1k, 10k, 100k, then again, --passes times), each in a process of its
own, so a burst of load from other work on the machine spreads over all sizes. Per call: median and
p95 of every sample; the median CPU time the measuring process spent on it (Python's share, far less
disturbed by other work on the machine than the wall-clock time); and the SQL queries of one request
(they must be equal at every size; the script flags any that is not and exits 1). Written:
docs/scaling.json, docs/scaling.svg (the plot, drawn by this script), and a Markdown table on stdout.

Needs PostgreSQL and Redis: --database-url-prefix (the size is appended: `_1k`, `_10k`, `_100k`),
--redis-url. SECRET_KEY defaults to a throwaway value; ENABLE_BENCH is set for the data generator.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable

SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
EVENTS_PER_USER = 50  # with 4 permissions per event: 200 visible events per user, at every size
CALLER_EVENTS = 200

# (key, label, in the plot): the calls, in the order of the table.
CALLS = [
    ("list", "list page (20), cache miss", True),
    ("list_hit", "list page (20), cache hit", False),
    ("detail", "detail, cache miss", True),
    ("detail_hit", "detail, cache hit", False),
    ("occurrences", "occurrences of a weekly series (50)", True),
    ("conflict_single", "conflict check, one event (the check alone)", True),
    ("conflict_series", "conflict check, weekly series over 366 days (the check alone)", True),
    ("changelog", "changelog, first page", True),
    ("list_as_of", "list page as_of (time travel)", True),
    ("detail_as_of", "detail as_of (time travel)", False),
    ("create", "create one event: checked, inserted, versioned (201)", False),
    ("batch", "batch of 500 events (201)", True),
]
BATCH_REPEAT = 5  # a batch takes about a second: fewer samples of it


# --- orchestration ----------------------------------------------------------------------------------


def env_for(url: str, redis_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "ENABLE_BENCH": "1",  # `manage.py generate_data` is the bench app's command, off by default
        # The settings refuse PostgreSQL without SECRET_KEY; a benchmark's throwaway data needs no secret one.
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment"),
        "THROTTLE_USER": "100000000/min",  # the rate limits are not what is measured
        "LOG_LEVEL": "WARNING",
    }


def _admin_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    return parsed._replace(path="/postgres").geturl(), parsed.path.lstrip("/")


def database_exists(url: str) -> bool:
    admin, name = _admin_url(url)
    found = subprocess.run(
        ["psql", admin, "-Atc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        check=True,
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() == "1"


def build(url: str, redis_url: str, events: int) -> None:
    """Drop and create the database, migrate, generate the data set, VACUUM ANALYZE."""
    admin, name = _admin_url(url)
    env = env_for(url, redis_url)
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], check=True, cwd=ROOT, env=env)
    users = max(1, events // EVENTS_PER_USER)
    began = time.perf_counter()
    generate = [PYTHON, "manage.py", "generate_data", f"--users={users}", f"--events={events}"]
    subprocess.run(generate, check=True, cwd=ROOT, env=env)
    subprocess.run(["psql", url, "-qc", "VACUUM ANALYZE"], check=True)
    print(f"built {name}: {events:,} events, {users:,} users in {time.perf_counter() - began:.0f} s", file=sys.stderr)


def orchestrate(args) -> int:
    urls = {size: f"{args.database_url_prefix}_{size}" for size in args.sizes}
    for size, url in urls.items():
        if args.reuse and database_exists(url):
            # Migrated anyway: a reused data set gets the indexes added since it was built.
            migrate = [PYTHON, "manage.py", "migrate", "-v0"]
            subprocess.run(migrate, check=True, cwd=ROOT, env=env_for(url, args.redis_url))
            continue
        build(url, args.redis_url, SIZES[size])

    runs: dict[str, list[dict]] = {size: [] for size in args.sizes}
    for turn in range(args.passes):
        for size, url in urls.items():
            print(f"pass {turn + 1}/{args.passes}: {size}", file=sys.stderr, flush=True)
            answer = subprocess.run(
                [PYTHON, __file__, "--measure", "--repeat", str(args.repeat)],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=env_for(url, args.redis_url),
            )
            runs[size].append(json.loads(answer.stdout))

    result = summarize(runs, args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "scaling.svg").write_text(plot(result))
    print(markdown(result))
    uneven = [key for key, row in result["calls"].items() if not row["queries_equal"]]
    if uneven:
        print(f"\nQUERY COUNTS DIFFER ACROSS SIZES: {', '.join(uneven)}", file=sys.stderr)
        return 1
    return 0


def summarize(runs: dict[str, list[dict]], args) -> dict:
    calls = {}
    for key, label, plotted in CALLS:
        per_size = {}
        for size, measured in runs.items():
            ordered = sorted(ms for run in measured for ms in run["calls"][key]["ms"])
            cpu = [ms for run in measured for ms in run["calls"][key]["cpu_ms"]]
            per_size[size] = {
                "median_ms": round(statistics.median(ordered), 2),
                # CPU time of the measuring process alone (Python: Django, DRF, the drivers), which other
                # work on the machine disturbs far less than the wall-clock time.
                "median_cpu_ms": round(statistics.median(cpu), 2),
                "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
                "samples": len(ordered),
                "queries": sorted({run["calls"][key]["queries"] for run in measured}),
                "answer": measured[0]["calls"][key]["answer"],
            }
        counts = {tuple(row["queries"]) for row in per_size.values()}
        first, last = next(iter(per_size.values())), list(per_size.values())[-1]
        calls[key] = {
            "label": label,
            "plotted": plotted,
            "sizes": per_size,
            "queries_equal": len(counts) == 1 and len(next(iter(counts))) == 1,
            "ratio_largest_to_smallest": round(last["median_ms"] / first["median_ms"], 2),
        }
    return {
        "command": " ".join(["bench/bench_scaling.py", *sys.argv[1:]]),
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "passes": args.passes,
        "repeat": args.repeat,
        "sizes": {
            size: {
                "events": measured[0]["events"],
                "users": measured[0]["users"],
                "caller_events": measured[0]["caller_events"],
                "load_average": [run["load_average"] for run in measured],
            }
            for size, measured in runs.items()
        },
        "calls": calls,
    }


def markdown(result: dict) -> str:
    sizes = list(result["sizes"])
    head = " | ".join(f"{size} median / p95 ms (CPU)" for size in sizes)
    lines = [
        f"| call | {head} | {sizes[-1]} ÷ {sizes[0]} | queries |",
        "|---|" + "---:|" * len(sizes) + "---:|---|",
    ]
    for row in result["calls"].values():
        cells = " | ".join(
            "{median_ms:.1f} / {p95_ms:.1f} ({median_cpu_ms:.1f})".format(**row["sizes"][s]) for s in sizes
        )
        counts = [row["sizes"][s]["queries"] for s in sizes]
        if row["queries_equal"]:
            queries = str(counts[0][0])
        else:
            queries = "DIFFER: " + ", ".join("/".join(map(str, c)) for c in counts)
        lines.append(f"| {row['label']} | {cells} | {row['ratio_largest_to_smallest']:.2f}× | {queries} |")
    loads = "; ".join(
        f"{size}: " + ", ".join(f"{load[0]:.1f}" for load in info["load_average"])
        for size, info in result["sizes"].items()
    )
    callers = ", ".join(f"{size}: {info['caller_events']}" for size, info in result["sizes"].items())
    lines += ["", f"Events visible to the caller — {callers}. 1-minute load average at each run — {loads}."]
    return "\n".join(lines)


# --- the plot: an SVG written by hand, so nothing needs installing -------------------------------------

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]


def plot(result: dict) -> str:
    """Median latency (log scale) against the number of events (log scale), one line per plotted call."""
    width, height = 900, 460
    left, right, top, bottom = 70, 360, 40, 60
    sizes = list(result["sizes"])
    xs = [math.log10(result["sizes"][s]["events"]) for s in sizes]
    rows = [row for row in result["calls"].values() if row["plotted"]]
    values = [row["sizes"][s]["median_ms"] for row in rows for s in sizes]
    low = 10 ** math.floor(math.log10(max(min(values), 0.1)))
    high = 10 ** math.ceil(math.log10(max(values)))
    plot_w, plot_h = width - left - right, height - top - bottom

    def x_of(value: float) -> float:
        span = (xs[-1] - xs[0]) or 1
        return left + (value - xs[0]) / span * plot_w

    def y_of(ms: float) -> float:
        return top + plot_h - (math.log10(ms) - math.log10(low)) / (math.log10(high) - math.log10(low)) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="22" font-size="15" font-weight="bold">Median latency by data size '
        "(one request after another; PostgreSQL + Redis)</text>",
    ]
    decade = low
    while decade <= high * 1.0001:
        for step in (1, 2, 5):
            tick = decade * step
            if low <= tick <= high * 1.0001:
                y = y_of(tick)
                colour = "#bbb" if step == 1 else "#eee"
                out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{colour}"/>')
                out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
        decade *= 10
    for size, value in zip(sizes, xs, strict=True):
        x = x_of(value)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#ddd"/>')
        events = result["sizes"][size]["events"]
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{events:,}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 18}" text-anchor="middle">events in the database</text>')
    middle = top + plot_h / 2
    out.append(f'<text x="18" y="{middle}" text-anchor="middle" transform="rotate(-90 18 {middle})">median ms</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>')
    for index, row in enumerate(rows):
        colour = COLOURS[index % len(COLOURS)]
        points = [(x_of(x), y_of(row["sizes"][s]["median_ms"])) for s, x in zip(sizes, xs, strict=True)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>' for x, y in points)
        legend_y = top + 10 + index * 20
        legend_x = width - right + 16
        out.append(
            f'<line x1="{legend_x}" y1="{legend_y}" x2="{legend_x + 24}" y2="{legend_y}" '
            f'stroke="{colour}" stroke-width="3"/>'
        )
        label = row["label"].replace("&", "&amp;").replace("<", "&lt;")
        out.append(f'<text x="{legend_x + 30}" y="{legend_y + 4}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --- one size, in its own process ------------------------------------------------------------------------


def measure_here(repeat: int) -> dict:
    import django

    django.setup()
    from datetime import UTC, datetime, timedelta

    from django.contrib.auth import get_user_model
    from django.core.signals import request_started
    from django.db import connection, reset_queries, transaction
    from django.db.models import Count, Max
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.tokens import tokens_for
    from events.cache import invalidate_event, invalidate_users
    from events.models import Event
    from recurrence import rules
    from scheduling import conflicts
    from sharing.models import EventPermission

    request_started.disconnect(reset_queries)  # keep the query log across a request, to count its queries
    User = get_user_model()
    holders = EventPermission.objects.values("user_id").annotate(n=Count("id")).order_by("user_id")
    caller_id, caller_events = min(((h["user_id"], h["n"]) for h in holders), key=lambda h: abs(h[1] - CALLER_EVENTS))
    user = User.objects.get(pk=caller_id)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user)['access']}")
    mine = Event.objects.filter(permissions__user=user, deleted_at__isnull=True).order_by("id")
    single = mine.filter(owner=user, is_recurring=False).first()
    series_rows = list(mine.filter(is_recurring=True))
    weekly = next((e for e in series_rows if e.recurrence["rrule"] == "FREQ=WEEKLY;BYDAY=MO"), series_rows[0])
    as_of = (mine.aggregate(last=Max("created_at"))["last"] + timedelta(minutes=1)).isoformat().replace("+", "%2B")

    def forget() -> None:
        """Every answer cached for the caller stale, as a change of their events makes it: the next read is a miss."""
        invalidate_users([user.pk])
        for event in (single, weekly):
            invalidate_event(event.pk)

    def get(path: str, *, miss: bool = True):
        def call(n: int):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code, response.content[:300])
            return response

        call.before = forget if miss else None  # untimed
        return call

    def rolled_back(post):
        def call(n: int):
            with transaction.atomic():
                response = post(n)
                transaction.set_rollback(True)
            return response

        return call

    def check(event: Event):
        return lambda n: conflicts.event_conflicts(user=user, event=event)

    busy = Event(title="New", start_time=single.start_time, end_time=single.end_time, timezone="UTC")
    first = single.start_time.replace(hour=9, minute=0, second=0, microsecond=0)
    pattern = rules.parse_pattern("FREQ=WEEKLY", start=first, end=first + timedelta(hours=1), tz="Europe/Berlin")
    series = Event(
        title="New weekly",
        start_time=first,
        end_time=first + timedelta(hours=1),
        timezone="Europe/Berlin",
        recurrence=pattern.to_json(),
        is_recurring=True,
    )

    def create(n: int):
        body = {"title": "Scaling", "start_time": "2031-06-02T03:00:00Z", "end_time": "2031-06-02T04:00:00Z"}
        response = client.post("/api/events", body, content_type="application/json")
        assert response.status_code == 201, response.content[:300]
        return response

    def batch(n: int):
        begin = datetime(2032, 1, 1, tzinfo=UTC)  # after every generated one-off event: nothing in the way
        items = []
        for i in range(500):
            start = begin + timedelta(days=i // 3, hours=i % 3)
            end = start + timedelta(minutes=30)
            items.append({"title": f"Imported {i}", "start_time": start.isoformat(), "end_time": end.isoformat()})
        response = client.post("/api/events/batch", {"events": items}, content_type="application/json")
        assert response.status_code == 201, response.content[:300]
        return response

    calls = {
        "list": (get("/api/events"), lambda r: f"{r.json()['count']} events"),
        "list_hit": (get("/api/events", miss=False), lambda r: f"{r.json()['count']} events"),
        "detail": (get(f"/api/events/{single.pk}"), lambda r: f"{len(r.json()['permissions'])} permissions"),
        "detail_hit": (
            get(f"/api/events/{single.pk}", miss=False),
            lambda r: f"{len(r.json()['permissions'])} permissions",
        ),
        "occurrences": (
            get(f"/api/events/{weekly.pk}/occurrences?limit=50"),
            lambda r: f"{len(r.json()['results'])} occurrences",
        ),
        "conflict_single": (check(busy), lambda found: f"{len(found)} conflicts"),
        "conflict_series": (check(series), lambda found: f"{len(found)} conflicts"),
        "changelog": (get(f"/api/events/{single.pk}/changelog"), lambda r: f"{r.json()['count']} entries"),
        "list_as_of": (get(f"/api/events?as_of={as_of}"), lambda r: f"{r.json()['count']} events"),
        "detail_as_of": (get(f"/api/events/{single.pk}?as_of={as_of}"), lambda r: f"version {r.json()['version']}"),
        "create": (rolled_back(create), lambda r: "201"),
        "batch": (rolled_back(batch), lambda r: f"{len(r.json()['results'])} created"),
    }
    # The rolled-back writes of an earlier pass left dead rows in the caller's indexes (500 permissions
    # per batch): clear them, as autovacuum would between bursts, so every pass reads the same tables.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")
    measured = {}
    for key, (call, describe) in calls.items():
        call(-1)  # warm: imports, parsed rules, prepared plans, and the cached answer of the "hit" rows
        before = getattr(call, "before", None)
        if before:
            before()
        with CaptureQueriesContext(connection) as queries:
            answer = describe(call(-2))
        count = len(queries)
        times, cpu = [], []
        for n in range(BATCH_REPEAT if key == "batch" else repeat):
            if before:
                before()
            began, began_cpu = time.perf_counter(), time.process_time()
            call(n)
            times.append(round((time.perf_counter() - began) * 1000, 3))
            cpu.append(round((time.process_time() - began_cpu) * 1000, 3))
        measured[key] = {"ms": times, "cpu_ms": cpu, "queries": count, "answer": answer}
    return {
        "events": Event.objects.count(),
        "users": User.objects.count(),
        "caller_events": caller_events,
        "load_average": os.getloadavg(),
        "calls": measured,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse", action="store_true", help="reuse the databases that exist (migrated first)")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=40, help="timed requests per call and pass")
    parser.add_argument("--passes", type=int, default=3, help="turns over all sizes")
    parser.add_argument(
        "--database-url-prefix",
        default=os.environ.get("SCALING_DATABASE_URL_PREFIX", "postgres://postgres@127.0.0.1:5432/calendar_scaling"),
        help="the database of each size is this plus _1k, _10k, _100k",
    )
    parser.add_argument("--redis-url", default=os.environ.get("SCALING_REDIS_URL", "redis://127.0.0.1:6379/10"))
    parser.add_argument("--out", default=str(ROOT / "docs"), help="where scaling.json and scaling.svg go")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # one size, in this process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure_here(args.repeat)))
        return
    sys.exit(orchestrate(args))


if __name__ == "__main__":
    main()
