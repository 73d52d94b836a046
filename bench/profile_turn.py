"""Where a turn's time goes: cProfile over a batch of whole turns in one process.

Usage: python bench/profile_turn.py [--turns 60] [--top 25] [--sort tottime|cumulative]
                                    [--database sqlite|postgres]

Builds a fresh database (a temporary SQLite file, or with --database postgres the database
`parlant_bench_profile` on DATABASE_URL's server, default 127.0.0.1), loads the demo agent, then
for each turn posts a customer message through the service the API uses and runs the turn's task
function in this thread, exactly as the in-process worker would (the queued copy goes to an
unconsumed in-memory broker instead). Prints the mean wall time per turn, the share of time in
database calls, and the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MESSAGES = ["Hi!", "Do you have electric cars?", "What does the red one cost?", "Thanks, bye!"]
POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432"


def configure(database: str) -> None:
    os.environ.pop("REDIS_URL", None)
    if database == "postgres":
        import psycopg

        server = os.environ.get("DATABASE_URL", POSTGRES_SERVER).rsplit("/", 1)[0]
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute('DROP DATABASE IF EXISTS "parlant_bench_profile" WITH (FORCE)')
            admin.execute('CREATE DATABASE "parlant_bench_profile"')
        os.environ["DATABASE_URL"] = f"{server}/parlant_bench_profile"
    else:
        os.environ.pop("DATABASE_URL", None)
        folder = Path(tempfile.mkdtemp(prefix="parlant-profile-"))
        os.environ["SQLITE_PATH"] = str(folder / "db.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parlant_site.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    parser.add_argument("--save", help="also write the raw profile here (for pstats or snakeviz)")
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgres"])
    arguments = parser.parse_args()
    configure(arguments.database)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from behavior.models import Agent
    from sessions_app.models import Session
    from sessions_app.services import customer_message_post, session_create
    from sessions_app.tasks import respond_to_session

    call_command("migrate", "--no-input", verbosity=0)
    call_command("seed_demo", verbosity=0)
    # The turn runs in this thread, under the profiler; the queued copy is never consumed.
    settings.PARLANT_INPROCESS_WORKER = False

    database_seconds = 0.0

    def timed(execute, sql, params, many, context):
        nonlocal database_seconds
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            database_seconds += time.perf_counter() - started

    def turn(session: Session, text: str) -> None:
        event = customer_message_post(session=session, message=text)
        respond_to_session.run(session.id, event.offset)

    agent = Agent.objects.get(pk="otto-carmen")
    sessions = [session_create(agent=agent) for _ in range(arguments.turns // 4 + 1)]
    turn(sessions[0], "Warm-up")  # imports and per-version caches, as in a running server
    plan = [(sessions[i // 4], MESSAGES[i % 4]) for i in range(arguments.turns)]
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with connection.execute_wrapper(timed):
        profiler.enable()
        for session, text in plan:
            turn(Session.objects.select_related("customer").get(pk=session.pk), text)
        profiler.disable()
    wall = time.perf_counter() - started
    print(  # noqa: T201
        f"{arguments.turns} turns on {arguments.database}: {wall / arguments.turns * 1000:.1f} ms "
        f"per turn (profiled), {database_seconds / wall:.0%} of it in database calls"
    )
    if arguments.save:
        profiler.dump_stats(arguments.save)
    report = io.StringIO()
    pstats.Stats(profiler, stream=report).sort_stats(arguments.sort).print_stats(arguments.top)
    print(report.getvalue())  # noqa: T201


if __name__ == "__main__":
    main()
