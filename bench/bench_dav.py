"""CalDAV latency, one request after another, in process through the whole stack (routing, Basic auth with
an app password, the DAV views, the database, the cache):

- a sync-collection with no changes (what every app sends on its sync timer);
- an initial sync of a calendar of --events events as DAVx5 and Thunderbird do it: PROPFIND Depth 1 for
  the ETags, then calendar-multiget of calendar-data in batches of 100;
- a PUT that changes one event (If-Match; a new version, audit, notifications, sync feed).

It makes its own user and events (through the same batch service as POST /api/events/batch) in the
database the settings name, migrated first:

    SQLITE_PATH=bench/results/dav.sqlite3 .venv/bin/python bench/bench_dav.py --events 1000 --repeat 5
    DATABASE_URL=postgres://... REDIS_URL=redis://... SECRET_KEY=... .venv/bin/python bench/bench_dav.py
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
if os.environ.get("SQLITE_PATH"):  # e.g. bench/results/, kept out of git
    Path(os.environ["SQLITE_PATH"]).parent.mkdir(parents=True, exist_ok=True)
for scope in ("USER", "ANON", "AUTH_IP", "AUTH_USERNAME"):
    os.environ.setdefault(f"THROTTLE_{scope}", "100000000/min")

import django  # noqa: E402  (settings first: the loop above sets the rates)

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.services import app_password_create  # noqa: E402
from events.services import event_create_batch  # noqa: E402

BATCH = 100


def _stats(times: list[float], cpu: list[float]) -> str:
    ordered = sorted(times)
    return (
        f"median={statistics.median(ordered):.2f} ms p95={ordered[int(0.95 * (len(ordered) - 1))]:.2f} ms "
        f"cpu median={statistics.median(cpu):.2f} ms"
    )


class _Clock:
    """Wall and CPU time of one timed block (CPU: this process, so the database server's work is not in it)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_):
        self.wall = (time.perf_counter() - self.wall) * 1000
        self.cpu = (time.process_time() - self.cpu) * 1000


def _multiget(hrefs: list[str]) -> str:
    inner = "".join(f"<D:href>{href}</D:href>" for href in hrefs)
    return (
        '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:prop><D:getetag/><C:calendar-data/></D:prop>{inner}</C:calendar-multiget>"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)

    user = get_user_model().objects.create_user(
        username=f"davbench-{secrets.token_hex(4)}", email="", password=secrets.token_urlsafe(16)
    )
    _, secret = app_password_create(user=user, name="bench")
    start = datetime(2031, 1, 6, 9, tzinfo=UTC)
    for first in range(0, args.events, 500):
        items = [
            {
                "title": f"Event {n}",
                "description": "Bench",
                "location": "Room",
                "start_time": start + timedelta(hours=3 * n),
                "end_time": start + timedelta(hours=3 * n, minutes=45),
                "timezone": "Europe/Paris",
                "is_all_day": False,
                "recurrence": None,
            }
            for n in range(first, min(first + 500, args.events))
        ]
        event_create_batch(actor=user, items=items, conflict_strategy="allow")
    auth = "Basic " + base64.b64encode(f"{user.username}:{secret}".encode()).decode()
    client = Client(HTTP_AUTHORIZATION=auth)
    calendar = f"/dav/calendars/{user.pk}/events/"

    def dav(method, path, body="", content_type="application/xml", **headers):
        response = client.generic(method, path, body, content_type=content_type, **headers)
        assert response.status_code in (200, 201, 204, 207), (response.status_code, response.content[:300])
        return response

    first = dav(
        "REPORT",
        calendar,
        '<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/>'
        "</D:prop></D:sync-collection>",
    )
    token = re.search(rb"<D:sync-token>([^<]+)</D:sync-token>", first.content).group(1).decode()
    no_changes = (
        f'<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>'
        "<D:prop><D:getetag/></D:prop></D:sync-collection>"
    )
    times, cpu = [], []
    for _ in range(args.repeat * 5):
        with _Clock() as clock:
            dav("REPORT", calendar, no_changes)
        times.append(clock.wall)
        cpu.append(clock.cpu)
    print(f"sync-collection, no changes         events={args.events} {_stats(times, cpu)}")

    propfind = '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:resourcetype/></D:prop></D:propfind>'
    times, cpu = [], []
    for _ in range(args.repeat):
        with _Clock() as clock:
            listing = dav("PROPFIND", calendar, propfind, HTTP_DEPTH="1")
            hrefs = [h for h in re.findall(r"<D:href>([^<]+)</D:href>", listing.content.decode()) if h != calendar]
            fetched = 0
            for index in range(0, len(hrefs), BATCH):
                answer = dav("REPORT", calendar, _multiget(hrefs[index : index + BATCH]), HTTP_DEPTH="1")
                fetched += answer.content.count(b"BEGIN:VEVENT")
        times.append(clock.wall)
        cpu.append(clock.cpu)
    assert len(hrefs) == args.events and fetched == args.events, (len(hrefs), fetched)
    # The first run exports every event; later ones find the text in the cache (by event and version), until
    # a change. With the local-memory cache (no REDIS_URL) only 300 entries fit: every run is then cold.
    print(
        f"initial sync (PROPFIND + multiget x{BATCH}) events={args.events} first={times[0]:.0f} ms cpu={cpu[0]:.0f} ms"
    )
    print(f"initial sync, again                 events={args.events} {_stats(times[1:], cpu[1:])}")

    put_times, put_cpu = [], []
    target = hrefs[0]
    for n in range(args.repeat * 2):
        current = dav("GET", target)
        body = re.sub(rb"SUMMARY:[^\r\n]*", f"SUMMARY:Changed {n}".encode(), current.content)
        with _Clock() as clock:
            dav("PUT", target, body, content_type="text/calendar", HTTP_IF_MATCH=current["ETag"])
        put_times.append(clock.wall)
        put_cpu.append(clock.cpu)
    print(f"PUT (change one event)              {_stats(put_times, put_cpu)}")


if __name__ == "__main__":
    main()
