"""Parlant-style public ids: short, random, URL-safe."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 10


def new_id() -> str:
    # 62**10 ≈ 8e17 values: collisions are negligible at any scale this project targets.
    return "".join(secrets.choice(_ALPHABET) for _ in range(ID_LENGTH))
