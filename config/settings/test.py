"""Test overrides: the same settings as production, made fast and deterministic."""

import os

# A fixed key, set before the base settings read it (they refuse to start without one on PostgreSQL,
# and would otherwise write `.secret_key`); JWT_SIGNING_KEY defaults to it there.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment-0123456789abcdef")

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, REST_FRAMEWORK

# The benchmark data generator is tested (tests/bench) whatever ENABLE_BENCH says.
if "bench" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "bench"]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Throttles stay on (they are part of the contract) but generous, except where a test lowers them.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "anon": "100000/min",
        "user": "100000/min",
        "auth_ip": "100000/min",
        "auth_username": "100000/min",
        "feed": "100000/min",
    },
}
