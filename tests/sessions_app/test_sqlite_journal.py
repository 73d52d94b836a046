"""The embedded SQLite file runs in WAL mode with synchronous=NORMAL on every connection."""

import threading

import pytest
from django.db import connection, connections

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="a setting of the SQLite default"),
]


def pragmas() -> tuple[str, int]:
    with connection.cursor() as cursor:
        journal_mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = cursor.execute("PRAGMA synchronous").fetchone()[0]
    return journal_mode, synchronous


def test_every_connection_uses_wal_and_normal_sync():
    seen: list[tuple[str, int]] = [pragmas()]

    def in_another_thread() -> None:  # a new thread opens a connection of its own
        try:
            seen.append(pragmas())
        finally:
            connections.close_all()

    worker = threading.Thread(target=in_another_thread)
    worker.start()
    worker.join(timeout=30)
    assert seen == [("wal", 1), ("wal", 1)]  # synchronous: 1 is NORMAL (2 FULL, the default)
