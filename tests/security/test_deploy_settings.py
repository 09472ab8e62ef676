"""Production settings pass `manage.py check --deploy`, and TLS behind a proxy is switched on by the environment.

A deployment terminates TLS at a proxy and sets, besides DATABASE_URL, SECRET_KEY and ALLOWED_HOSTS,
the TLS variables of `.env.example`: HSTS, secure cookies, the HTTPS redirect and trusting the
proxy's `X-Forwarded-Proto`. The settings module runs once per process, so each shape is checked in a
fresh one (tests/helpers.py runs it).
"""

from __future__ import annotations

import json
import re
import secrets

import pytest

from tests.helpers import OUR_VARIABLES, run_python, run_settings

# No database is reached by these checks: an address that cannot resolve proves it.
DEPLOYMENT = {
    "DATABASE_URL": "postgres://calendar@db.invalid:5432/calendar",
    "ALLOWED_HOSTS": "calendar.example.com",
    "DEBUG": "false",
}
TLS = {
    "USE_X_FORWARDED_PROTO": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SECURE_COOKIES": "true",
}
SETTINGS = (
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER",
)


def production(**extra: str) -> dict[str, str]:
    return {**DEPLOYMENT, "SECRET_KEY": secrets.token_urlsafe(50), **extra}


def settings_under(env: dict[str, str]) -> dict:
    code = (
        "from django.conf import settings; import json; "
        f"print(json.dumps({{name: getattr(settings, name, None) for name in {SETTINGS!r}}}))"
    )
    result = run_settings(code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_every_variable_used_here_is_documented_in_the_env_example():
    assert set(DEPLOYMENT) | set(TLS) | {"SECRET_KEY"} <= set(OUR_VARIABLES)


def test_check_deploy_is_clean_for_the_production_environment():
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", **production(**TLS))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_without_the_tls_variables_check_deploy_names_exactly_those():
    """The only deploy warnings of the plain production shape are the TLS switches these variables turn on."""
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", **production())

    assert result.returncode != 0
    warned = set(re.findall(r"\(security\.(W\d+)\)", result.stderr))
    # HSTS, HTTPS redirect, secure session cookie, secure CSRF cookie
    assert warned == {"W004", "W008", "W012", "W016"}, result.stderr


def test_tls_behind_a_proxy_is_configured_by_the_environment():
    assert settings_under(production(**TLS)) == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_tls_settings_are_off_unless_asked_for():
    """Plain HTTP (make run, a local container) keeps working: nothing redirects or pins HTTPS by default."""
    assert settings_under(production()) == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }


@pytest.mark.parametrize("value", ["1", "yes", "on", "TRUE"])
def test_the_switches_accept_the_usual_spellings_of_true(value):
    env = production(SECURE_SSL_REDIRECT=value, SECURE_COOKIES=value, USE_X_FORWARDED_PROTO=value)

    found = settings_under(env)

    assert (found["SECURE_SSL_REDIRECT"], found["SESSION_COOKIE_SECURE"], found["SECURE_PROXY_SSL_HEADER"]) == (
        True,
        True,
        ["HTTP_X_FORWARDED_PROTO", "https"],
    )


def test_behind_the_proxy_plain_http_is_redirected_and_https_gets_hsts():
    """What the settings do to a request: the proxy's X-Forwarded-Proto decides, as the proxy saw the client."""
    code = (
        "from django.test import Client; import json; c = Client(HTTP_HOST='calendar.example.com'); "
        "plain = c.get('/api/nowhere'); tls = c.get('/api/nowhere', HTTP_X_FORWARDED_PROTO='https'); "
        "print(json.dumps([plain.status_code, plain.get('Location'), tls.status_code, "
        "tls.get('Strict-Transport-Security')]))"
    )
    result = run_settings(code, **production(**TLS))

    assert result.returncode == 0, result.stderr
    plain_status, location, tls_status, hsts = json.loads(result.stdout.strip().splitlines()[-1])
    assert (plain_status, location) == (301, "https://calendar.example.com/api/nowhere")
    assert tls_status == 404  # served (a 404 problem: no such API path), not redirected
    assert hsts == "max-age=31536000; includeSubDomains; preload"
