"""Sequential latency of the two hottest reads, a list page and a detail, one request after another.

In process through the whole stack (routing, JWT auth, throttling, views, serializers, the database,
the cache), the way issue #8's target is stated ("one client after another"). Run it against a data
set made by `manage.py generate_data`:

    ENABLE_BENCH=1 DATABASE_URL=... SECRET_KEY=... .venv/bin/python bench/bench_api.py --repeat 200

`--no-cache` measures the database path: the per-caller cache is bypassed by changing the caller's
and the event's generations before every request (what a write does).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("THROTTLE_USER", "100000000/min")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.tokens import tokens_for  # noqa: E402
from events import cache as event_cache  # noqa: E402
from events.models import Event  # noqa: E402


def measure(client: Client, path: str, repeat: int, before=None) -> list[float]:
    client.get(path)  # warm
    times = []
    for _ in range(repeat):
        if before:
            before()
        began = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.content[:200]
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--user", default="bench0")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    user = get_user_model().objects.get(username=args.user)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user)['access']}")
    event = Event.objects.filter(permissions__user=user, deleted_at__isnull=True).order_by("pk").first()

    def bust() -> None:
        # The list depends on the caller's generation, the detail on the event's: replace both.
        event_cache.invalidate_users([user.pk])
        event_cache.invalidate_event(event.pk)

    bust = bust if args.no_cache else None
    total = Event.objects.count()
    for name, path in [("list page (20)", "/api/events"), ("detail", f"/api/events/{event.pk}")]:
        times = measure(client, path, args.repeat, bust)
        print(
            f"{name:16} events={total} cache={'off' if args.no_cache else 'on'} "
            f"median={statistics.median(times):.2f} ms p95={sorted(times)[int(0.95 * len(times))]:.2f} ms"
        )


if __name__ == "__main__":
    main()
