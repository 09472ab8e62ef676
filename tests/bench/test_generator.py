"""The benchmark data must look like what the services write, or the benchmarks measure fiction."""

import pytest
from django.core.management import call_command
from django.db.models import Count

from bench.generator import PASSWORD, generate
from events.models import Event
from sharing.models import EventPermission
from sharing.roles import Role

pytestmark = pytest.mark.django_db


def test_generated_events_have_an_owner_shares_and_contiguous_versions():
    counts = generate(users=20, events=300, shares_per_event=3, versions=5, batch=100)

    assert (counts.users, counts.events) == (20, 300)
    assert Event.objects.count() == 300
    owners = EventPermission.objects.filter(role=Role.OWNER).values("event").annotate(n=Count("id"))
    assert owners.count() == 300 and all(row["n"] == 1 for row in owners)
    assert EventPermission.objects.count() == 300 * 4
    for event in Event.objects.all()[:20]:
        versions = list(Event.history.filter(id=event.pk).order_by("version").values_list("version", flat=True))
        assert versions == [1, 2, 3, 4, 5]
        assert event.version == 5
        assert Event.history.filter(id=event.pk, version=5).get().title == event.title
    recurring = Event.objects.filter(is_recurring=True).count()
    assert 10 <= recurring <= 60  # 10% of 300, give or take the dice
    assert not Event.objects.filter(is_recurring=True, recurrence__isnull=True).exists()


def test_generated_users_can_use_the_api(api):
    generate(users=5, events=50, batch=50)
    login = api.post("/api/auth/login", {"username": "bench0", "password": PASSWORD}, format="json")
    assert login.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")

    listed = api.get("/api/events?page_size=100")
    visible = Event.objects.filter(permissions__user__username="bench0").count()

    assert listed.status_code == 200
    assert listed.json()["count"] == visible > 0
    detail = api.get(f"/api/events/{listed.json()['results'][0]['id']}")
    assert detail.status_code == 200 and detail.json()["version"] == 5


def test_the_command_reports_what_it_wrote(capsys):
    call_command("generate_data", users=3, events=10, versions=2, prefix="cmd")

    assert "3 users, 10 events" in capsys.readouterr().out
    assert Event.objects.count() == 10
