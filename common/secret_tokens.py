"""Secrets we hand out once (feed URLs, app passwords, history links): how they are made and stored.

A secret is random bytes from the operating system's CSPRNG, URL-safe base64 without padding, so it can
sit in a URL or be pasted into an app's password field. Only its SHA-256 digest (hex) is stored, and the
digest is what finds the row (a unique index), so checking a secret is one indexed lookup. A fast hash is
right here, unlike for account passwords: the secret is at least 128 random bits made by us, so there is
no dictionary to try and a brute force of the digest is hopeless, while a slow hash (argon2) would cost
~50 ms of CPU on every request that carries one (a calendar app sends it with each of dozens of requests).
A leaked table gives no working secret.
"""

from __future__ import annotations

import hashlib
import secrets

MIN_BYTES = 16  # 128 bits


def new_secret(nbytes: int) -> str:
    """A fresh secret of `nbytes` random bytes (at least 16), URL-safe."""
    if nbytes < MIN_BYTES:
        raise ValueError(f"A secret has at least {MIN_BYTES} random bytes.")
    return secrets.token_urlsafe(nbytes)


def secret_digest(secret: str) -> str:
    """How a secret is stored and looked up: SHA-256, hex (64 characters). Any text hashes, even lone surrogates."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
