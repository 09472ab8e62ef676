"""A real server for real clients: migrations on a database of its own, uvicorn in a subprocess, an account
and an app password made over the REST API, and the clients' virtualenv (`make interop-venv`).

The server's database is the test run's backend: with DATABASE_URL (PostgreSQL) a database named after it
with `_interop` appended, recreated for the session; without, an SQLite file in a temporary directory.
Ports come from DAV_INTEROP_PORTS (default 18400-18449): the first free one.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[3]
INTEROP_VENV = ROOT / os.environ.get("INTEROP_VENV", ".venv-interop")
HERE = Path(__file__).resolve().parent


@dataclass
class LiveServer:
    url: str
    env: dict = field(repr=False)

    def api(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
            return json.loads(text) if text else {}

    def account(self, username: str) -> dict:
        """A new user over the REST API: {username, access, password (an app password)}."""
        session = self.api(
            "POST",
            "/api/auth/register",
            {"username": username, "email": f"{username}@example.com", "password": "interop-" + secrets.token_hex(8)},
        )
        app = self.api("POST", "/api/auth/app-passwords", {"name": "interop"}, token=session["access"])
        return {
            "username": username,
            "access": session["access"],
            "password": app["password"],
            "id": session["user"]["id"],
        }


def _free_port() -> int:
    first, _, last = os.environ.get("DAV_INTEROP_PORTS", "18400-18449").partition("-")
    for port in range(int(first), int(last or first) + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for the interop server")


def _database_env(tmp: Path) -> dict:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return {"SQLITE_PATH": str(tmp / "interop.sqlite3")}
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_interop"
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return {"DATABASE_URL": urlunsplit(parts._replace(path="/" + name))}


def _ensure_clients() -> None:
    """The clients' virtualenv, made as `make interop-venv` makes it when it is missing."""
    marker = INTEROP_VENV / ".installed"
    requirements = ROOT / "requirements" / "interop.txt"
    if marker.exists() and marker.stat().st_mtime >= requirements.stat().st_mtime:
        return
    subprocess.run([sys.executable, "-m", "venv", str(INTEROP_VENV)], check=True)
    subprocess.run([str(INTEROP_VENV / "bin" / "pip"), "install", "--quiet", "-r", str(requirements)], check=True)
    marker.touch()


@pytest.fixture(scope="session")
def dav_server(tmp_path_factory):
    _ensure_clients()
    tmp = tmp_path_factory.mktemp("interop-server")
    env = {
        **{key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")},
        **_database_env(tmp),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "THROTTLE_USER": "1000000/min",
        "THROTTLE_ANON": "1000000/min",
        "THROTTLE_AUTH_IP": "1000000/min",
        "THROTTLE_AUTH_USERNAME": "1000000/min",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    port = _free_port()
    log = open(tmp / "server.log", "w")  # noqa: SIM115  (closed at teardown)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port), "--lifespan", "off"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(url + "/api/schema?format=json", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        else:
            raise RuntimeError("the interop server did not come up: " + (tmp / "server.log").read_text()[-2000:])
        yield LiveServer(url=url, env=env)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def run_client(*args: str, input_text: str | None = None) -> subprocess.CompletedProcess:
    """A program of the clients' virtualenv (python, vdirsyncer), its output kept for the assertion message."""
    program = str(INTEROP_VENV / "bin" / args[0])
    return subprocess.run(
        [program, *args[1:]], input=input_text, capture_output=True, text=True, timeout=300, check=False
    )
