"""Password hashing with argon2id (argon2-cffi's recommended parameters by default)."""

from __future__ import annotations

from argon2 import Parameters
from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2PasswordHasher:
    """Hashes with argon2-cffi's default parameters (RFC 9106's low-memory profile) unless
    given others. A hash carries its own parameters, so verifying costs what hashing it did,
    whichever parameters this hasher was built with."""

    def __init__(self, parameters: Parameters | None = None) -> None:
        self._hasher = _Argon2() if parameters is None else _Argon2.from_parameters(parameters)

    def hash(self, password: str) -> str:
        return str(self._hasher.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False
