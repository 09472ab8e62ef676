"""Settings that decide who can forge a token or reach the benchmark tools.

The settings module runs once per process, so the production shapes are checked in a fresh one.
"""

import json
import stat
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.settings.base import secret_key_from_file
from tests.helpers import CLEARED, run_settings

ROOT = Path(settings.BASE_DIR)


def test_postgres_without_a_secret_key_refuses_to_start():
    result = run_settings("print('started')", DATABASE_URL="postgres://calendar@127.0.0.1:5432/calendar")

    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "ImproperlyConfigured: SECRET_KEY must be set when DATABASE_URL is set" in result.stderr


def test_postgres_with_a_secret_key_signs_tokens_with_it():
    code = (
        "from django.conf import settings; import json; "
        "print(json.dumps([settings.SECRET_KEY, settings.SIMPLE_JWT['SIGNING_KEY'], settings.INSTALLED_APPS]))"
    )
    result = run_settings(code, DATABASE_URL="postgres://calendar@127.0.0.1:5432/calendar", SECRET_KEY="k" * 50)

    assert result.returncode == 0, result.stderr
    secret, signing, apps = json.loads(result.stdout)
    assert secret == signing == "k" * 50
    assert "bench" not in apps  # `generate_data` (users with a known password) is not in production


def test_the_bench_app_is_installed_only_when_asked_for():
    result = run_settings(
        "from django.core.management import get_commands; print('generate_data' in get_commands())",
        SECRET_KEY="k" * 50,
        ENABLE_BENCH="1",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    assert "bench" in settings.INSTALLED_APPS  # the tests always have it (tests/bench)


def test_the_embedded_default_makes_a_private_key_once_and_keeps_it(tmp_path):
    path = tmp_path / ".secret_key"

    first = secret_key_from_file(path)
    second = secret_key_from_file(path)

    assert first == second
    assert len(first) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [".secret_key"]  # no temporary file left behind
    assert secret_key_from_file(tmp_path / "elsewhere") != first  # random, not a constant


def test_an_existing_key_file_is_used_as_it_is(tmp_path):
    path = tmp_path / ".secret_key"
    path.write_text("my-kept-key\n")

    assert secret_key_from_file(path) == "my-kept-key"


def test_an_empty_key_file_is_refused(tmp_path):
    path = tmp_path / ".secret_key"
    path.write_text("")

    with pytest.raises(ImproperlyConfigured, match="is empty"):
        secret_key_from_file(path)


def test_a_key_file_that_cannot_be_made_is_refused(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="cannot be created"):
        secret_key_from_file(tmp_path / "missing-folder" / ".secret_key")


def test_every_variable_the_settings_read_is_cleared_for_these_checks():
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "JWT_SIGNING_KEY", "ENABLE_BENCH", "DEBUG"):
        assert name in CLEARED


def test_the_key_file_is_git_ignored():
    assert ".secret_key" in (ROOT / ".gitignore").read_text().splitlines()
