"""Test overrides: the same settings as production, made fast and deterministic."""

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Throttles stay on (they are part of the contract) but generous, except where a test lowers them.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "anon": "100000/min",
        "user": "100000/min",
        "auth_ip": "100000/min",
        "auth_username": "100000/min",
    },
}
