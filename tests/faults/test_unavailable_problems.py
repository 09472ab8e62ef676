"""A database that cannot be reached is a 503 `/problems/unavailable` with Retry-After, from DRF's
handler (views) and from Django's handler500 (middleware); other database errors are not.

The errors are built as Django raises them: a django.db error whose __cause__ is psycopg's.
"""

from __future__ import annotations

import json

import psycopg
import psycopg.errors
import pytest
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.test import RequestFactory
from psycopg_pool import PoolTimeout

from common.exceptions import problem_exception_handler
from common.views import server_error


def as_django_raises(django_class, cause: Exception) -> Exception:
    """`django_class` raised from `cause`, as django.db.utils.DatabaseErrorWrapper does."""
    try:
        try:
            raise cause
        except Exception as exc:
            raise django_class(*exc.args) from exc
    except django_class as wrapped:
        return wrapped


UNAVAILABLE = {
    "pool timeout (no connection)": as_django_raises(OperationalError, PoolTimeout("couldn't get a connection")),
    "connection refused": as_django_raises(OperationalError, psycopg.OperationalError("connection refused")),
    "connection lost": as_django_raises(
        OperationalError, psycopg.OperationalError("server closed the connection unexpectedly")
    ),
    "admin shutdown (57P01)": as_django_raises(OperationalError, psycopg.errors.AdminShutdown("terminating")),
    "crash shutdown (57P02)": as_django_raises(OperationalError, psycopg.errors.CrashShutdown("crash")),
    "starting up (57P03)": as_django_raises(OperationalError, psycopg.errors.CannotConnectNow("starting up")),
    "too many connections (53300)": as_django_raises(OperationalError, psycopg.errors.TooManyConnections("full")),
    "connection failure (08006)": as_django_raises(OperationalError, psycopg.errors.ConnectionFailure("gone")),
    "connection already closed": as_django_raises(InterfaceError, psycopg.InterfaceError("the connection is closed")),
}


def assert_unavailable(response) -> None:
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert int(response["Retry-After"]) >= 1
    body = json.loads(response.content)
    assert body["type"] == "/problems/unavailable"
    assert body["status"] == 503
    assert body["title"] and body["detail"]
    assert "server closed" not in body["detail"]  # the database's own message stays in the log


@pytest.mark.parametrize("error", UNAVAILABLE.values(), ids=UNAVAILABLE.keys())
def test_an_unreachable_database_is_a_503_problem_from_a_view(error, caplog):
    assert_unavailable(problem_exception_handler(error, {}))
    assert any("database unavailable" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("error", UNAVAILABLE.values(), ids=UNAVAILABLE.keys())
def test_an_unreachable_database_is_a_503_problem_from_a_middleware(error):
    request = RequestFactory().get("/api/events")
    try:
        raise error
    except Exception:  # noqa: BLE001
        response = server_error(request)  # Django calls handler500 while handling the exception
    assert_unavailable(response)


TIMED_OUT = {
    "statement timeout (57014)": as_django_raises(OperationalError, psycopg.errors.QueryCanceled("statement timeout")),
    "lock timeout (55P03)": as_django_raises(OperationalError, psycopg.errors.LockNotAvailable("lock timeout")),
}


@pytest.mark.parametrize("error", TIMED_OUT.values(), ids=TIMED_OUT.keys())
def test_a_statement_past_the_time_limit_is_a_503_problem_logged_as_an_error(error, caplog):
    """Cancelled by the database's time limit (DB_STATEMENT_TIMEOUT): a retry may succeed (a stall), but it may be a
    query too slow for its data, which an operator must see."""
    request = RequestFactory().get("/api/events")
    try:
        raise error
    except Exception:  # noqa: BLE001
        from_middleware = server_error(request)
    for response in (problem_exception_handler(error, {}), from_middleware):
        assert_unavailable(response)
        assert "time limit" in json.loads(response.content)["detail"]
    logged = [record for record in caplog.records if "timed out" in record.getMessage()]
    assert len(logged) == 2 and all(record.levelname == "ERROR" for record in logged)


def test_a_deadlock_is_still_a_409_to_retry():
    response = problem_exception_handler(as_django_raises(OperationalError, psycopg.errors.DeadlockDetected("x")), {})
    assert response.status_code == 409
    assert json.loads(response.content)["type"] == "/problems/retry"


@pytest.mark.parametrize(
    "error",
    [
        as_django_raises(IntegrityError, psycopg.errors.UniqueViolation("duplicate key")),
        as_django_raises(DatabaseError, psycopg.errors.UndefinedTable("no such table")),
    ],
    ids=["integrity error", "missing table"],
)
def test_other_database_errors_are_not_disguised_as_unavailable(error):
    assert problem_exception_handler(error, {}) is None  # a bug: Django's handler500 answers 500 and logs it
    request = RequestFactory().get("/api/events")
    try:
        raise error
    except DatabaseError:
        response = server_error(request)
    assert response.status_code == 500


def test_the_500_page_is_unchanged_outside_an_exception():
    assert server_error(RequestFactory().get("/")).status_code == 500
