"""How PostgreSQL is read (config/settings/base.py, common/postgresql/base.py): parameters bound by the server,
a query run often prepared there, instants loaded by psycopg's compiled loader — with the same values as
Django's own loader gives; a statement time limit, and both ends of a connection set to give up a silent peer."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import get_adapters_template

from common.postgresql.base import UTCInstantLoader
from config.settings.base import database_from_url, dead_peer_options
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
    monkeypatch.setenv("DB_NETWORK_TIMEOUT", "0")  # its own startup options: the next test
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


def test_the_url_asks_both_ends_to_give_up_a_silent_peer_within_the_network_timeout(monkeypatch):
    monkeypatch.delenv("DB_STATEMENT_TIMEOUT", raising=False)
    monkeypatch.delenv("DB_NETWORK_TIMEOUT", raising=False)
    monkeypatch.delenv("DB_STARTUP_OPTIONS", raising=False)
    options = database_from_url("postgres://u@db/calendar")["OPTIONS"]
    client = {key: options[key] for key in ("connect_timeout", "keepalives", "tcp_user_timeout")}
    assert client == {"connect_timeout": 10, "keepalives": 1, "tcp_user_timeout": 10_000}
    probes = {key: options[f"keepalives_{key}"] for key in ("idle", "interval", "count")}
    assert probes == {"idle": 5, "interval": 2, "count": 3}  # the last probe unanswered about 11 s after the last word
    assert options["options"] == (
        "-c statement_timeout=30000 -c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"
        " -c tcp_user_timeout=10000"
    )
    monkeypatch.setenv("DB_NETWORK_TIMEOUT", "1.5")  # the least each knob takes: libpq connects for 2 s at least
    options = database_from_url("postgres://u@db/c?keepalives_idle=9&options=-c%20work_mem%3D8MB")["OPTIONS"]
    assert (options["connect_timeout"], options["tcp_user_timeout"], options["keepalives_interval"]) == (2, 1500, 1)
    assert options["keepalives_idle"] == "9"  # the URL's own value wins, as its own options do
    assert options["options"].endswith(
        "-c tcp_keepalives_idle=1 -c tcp_keepalives_interval=1 -c tcp_keepalives_count=3"
        " -c tcp_user_timeout=1500 -c work_mem=8MB"
    )
    monkeypatch.setenv("DB_NETWORK_TIMEOUT", "100000")  # Linux takes at most 32767 s for the keepalive times
    options = database_from_url("postgres://u@db/calendar")["OPTIONS"]
    assert (options["keepalives_idle"], options["keepalives_interval"]) == (32767, 16667)
    assert "-c tcp_keepalives_idle=32767 " in options["options"]
    monkeypatch.setenv("DB_NETWORK_TIMEOUT", "0")  # the kernel's defaults
    options = database_from_url("postgres://u@db/calendar")["OPTIONS"]
    assert options["options"] == "-c statement_timeout=30000"
    assert not {"connect_timeout", "keepalives", "keepalives_idle", "tcp_user_timeout"} & set(options)
    monkeypatch.setenv("DB_NETWORK_TIMEOUT", "4")
    monkeypatch.setenv("DB_STARTUP_OPTIONS", "off")  # behind a pooler that refuses them: the client's end only
    options = database_from_url("postgres://u@db/c?options=-c%20search_path%3Dx")["OPTIONS"]
    assert options["options"] == "-c search_path=x" and options["tcp_user_timeout"] == 4000
    assert "options" not in database_from_url("postgres://u@db/calendar")["OPTIONS"]


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_connection_of_the_running_suite_has_both_ends_set_to_give_up_a_silent_peer():
    """The options reach libpq and PostgreSQL (over TCP: a Unix socket has no keepalives)."""
    if connection.settings_dict["HOST"] in ("", None) or connection.settings_dict["HOST"].startswith("/"):
        pytest.skip("the suite's database is reached over a Unix socket")
    seconds = float(os.environ.get("DB_NETWORK_TIMEOUT") or 10)
    if seconds <= 0 or os.environ.get("DB_STARTUP_OPTIONS", "on").lower() in ("0", "off", "false", "no"):
        pytest.skip("the network timeout, or the startup options, are turned off in this environment")
    client, server = dead_peer_options(seconds)
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SHOW tcp_keepalives_idle")
        idle = cursor.fetchone()[0]
        cursor.execute("SHOW tcp_user_timeout")
        user_timeout = cursor.fetchone()[0]
    # Seconds, milliseconds.
    assert (idle, user_timeout) == (str(server["tcp_keepalives_idle"]), str(server["tcp_user_timeout"]))
    parameters = connection.connection.info.get_parameters()
    assert parameters["keepalives_idle"] == str(client["keepalives_idle"])
    assert parameters["tcp_user_timeout"] == str(client["tcp_user_timeout"])


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
