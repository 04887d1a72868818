"""What the desk stores of the secrets it hands out, and the CSRF tokens tied to sessions."""

from __future__ import annotations

import hashlib
from enum import StrEnum


class CsrfRealm(StrEnum):
    """Where a session's forms are posted: a token made for one realm is refused by the other.

    The values are the prefixes each realm has always hashed with, so forms already open in a
    browser stay valid.
    """

    CONSOLE = "csrf"
    PORTAL = "portal-csrf"


def hash_secret(secret: str) -> str:
    """API tokens, session cookies and mailed links carry 256 random bits, so a fast hash is
    safe to store; passwords, which people choose, are hashed with argon2 instead."""
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token_for(session_secret: str, realm: CsrfRealm) -> str:
    return hashlib.sha256(f"{realm.value}:{session_secret}".encode()).hexdigest()
