"""How PostgreSQL is read (config/settings/base.py, common/postgresql/base.py): parameters bound by the server,
a query run often prepared there, instants loaded by psycopg's compiled loader — with the same values as
Django's own loader gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import get_adapters_template

from common.postgresql.base import UTCInstantLoader
from config.settings.base import database_from_url
from events.models import Event
from tests.factories import make_event

TIMESTAMPTZ = 1184


def test_the_url_asks_for_server_bound_parameters_and_prepared_statements(monkeypatch):
    monkeypatch.delenv("DB_PREPARE_THRESHOLD", raising=False)
    options = database_from_url("postgres://u@db:5432/calendar?sslmode=require")["OPTIONS"]
    assert (options["server_side_binding"], options["prepare_threshold"], options["sslmode"]) == (True, 5, "require")
    for off in ("off", "", "none"):
        monkeypatch.setenv("DB_PREPARE_THRESHOLD", off)  # behind a pooler that moves statements between sessions
        assert database_from_url("postgres://u@db/calendar")["OPTIONS"]["prepare_threshold"] is None
    monkeypatch.setenv("DB_PREPARE_THRESHOLD", "2")
    assert database_from_url("postgres://u@db/calendar")["OPTIONS"]["prepare_threshold"] == 2


def test_the_url_asks_for_a_statement_time_limit_which_its_own_options_can_override(monkeypatch):
    monkeypatch.delenv("DB_STATEMENT_TIMEOUT", raising=False)
    assert database_from_url("postgres://u@db/calendar")["OPTIONS"]["options"] == "-c statement_timeout=30000"
    given = database_from_url("postgres://u@db/calendar?options=-c%20statement_timeout%3D5s%20-c%20search_path%3Dx")
    assert given["OPTIONS"]["options"] == "-c statement_timeout=30000 -c statement_timeout=5s -c search_path=x"
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT", "2")
    assert database_from_url("postgres://u@db/calendar")["OPTIONS"]["options"] == "-c statement_timeout=2000"
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT", "0.25")
    assert database_from_url("postgres://u@db/calendar")["OPTIONS"]["options"] == "-c statement_timeout=250"
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT", "0")  # no limit: the URL's options as they are, or none
    assert "options" not in database_from_url("postgres://u@db/calendar")["OPTIONS"]
    assert (
        database_from_url("postgres://u@db/c?options=-c%20search_path%3Dx")["OPTIONS"]["options"] == "-c search_path=x"
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_instants_are_read_by_psycopgs_loader_with_the_values_djangos_gives():
    assert connection.vendor == "postgresql"
    connection.ensure_connection()
    assert connection.connection.adapters.get_loader(TIMESTAMPTZ, 0) is UTCInstantLoader
    literals = [
        "2026-03-29 01:30:00.123456+02",  # an offset, microseconds
        "2026-10-25 02:30:00-05:30",
        "0001-01-01 00:00:00+00",
        "9999-12-31 23:59:59.999999+00",
        "1969-12-31 23:59:59.5+00",
    ]
    select = "SELECT " + ", ".join(f"'{literal}'::timestamptz" for literal in literals)
    with connection.cursor() as cursor:
        cursor.execute(select)
        ours = cursor.fetchone()
    djangos_loader = get_adapters_template(True, UTC).get_loader(TIMESTAMPTZ, 0)(TIMESTAMPTZ, connection.connection)
    with connection.connection.cursor() as raw:
        raw.execute(select)  # the same row as text, each value given to Django's loader below
        texts = [raw.pgresult.get_value(0, column) for column in range(len(literals))]
    assert list(ours) == [djangos_loader.load(text) for text in texts]
    assert all(value.tzinfo is UTC for value in ours)
    assert ours[0] == datetime(2026, 3, 28, 23, 30, 0, 123456, tzinfo=UTC)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_query_run_often_is_prepared_on_the_server_and_answers_the_same(me):
    event = make_event(me, title="Prepared")
    first = Event.objects.filter(pk=event.pk).values_list("title", "start_time")[0]
    for _ in range(6):  # the threshold is 5 runs on one connection
        again = Event.objects.filter(pk=event.pk).values_list("title", "start_time")[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ['%"events_event"%'])
        prepared = [row[0] for row in cursor.fetchall()]
    assert again == first == ("Prepared", event.start_time)
    assert any('WHERE "events_event"."id" = $1' in statement for statement in prepared), prepared
