"""How long the insights page takes to render over 100,000 stored turns, on SQLite and PostgreSQL.

Usage: python bench/insights_page.py [--turns 100000] [--repeats 10] [--backend sqlite|postgres]
Builds a fresh database per backend (a temporary SQLite file; PostgreSQL database
`parlant_bench_insights` on DATABASE_URL's server, default 127.0.0.1), loads the demo agent,
generates the turns with `manage.py generate_conversations` (4 turns per session over 30 days),
then renders the page through Django's test client as a logged-in admin and prints each render
and the median / worst. The target is under 500 ms.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432"
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "parlant_bench_insights")

MEASURE = """
import resource, statistics, time, django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
admin = get_user_model().objects.create_superuser("bench-admin", "bench@example.com", "x")
client = Client()
client.force_login(admin)
url = reverse("admin:quality_agentworkbench_insights", args=["otto-carmen"])
timings, cpu = [], []
def cpu_ms():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000
for _ in range({repeats}):
    started, cpu_started = time.perf_counter(), cpu_ms()
    response = client.get(url)
    timings.append((time.perf_counter() - started) * 1000)
    cpu.append(cpu_ms() - cpu_started)
    assert response.status_code == 200, response.status_code
print("renders, wall (ms):", " ".join(f"{{t:.0f}}" for t in timings))
print(f"wall: median {{statistics.median(timings):.0f}} ms, worst {{max(timings):.0f}} ms, "
      f"first {{timings[0]:.0f}} ms")
# CPU of this process: Django plus, on SQLite, the database engine itself (it runs in-process);
# it shows the page's own cost when other programs load the machine.
print(f"cpu of this process: median {{statistics.median(cpu):.0f}} ms, worst {{max(cpu):.0f}} ms")
"""


REFRESH_STATISTICS = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
"""


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def run(arguments: list[str], environment: dict[str, str]) -> str:
    result = subprocess.run(
        [PYTHON, *arguments], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(result.stdout + result.stderr)
    return result.stdout.strip()


def bench(name: str, environment: dict[str, str], turns: int, repeats: int) -> None:
    environment = {**os.environ, **environment, "DJANGO_SETTINGS_MODULE": "parlant_site.settings"}
    run(["manage.py", "migrate", "--no-input", "-v0"], environment)
    run(["manage.py", "seed_demo"], environment)
    sessions = max(1, turns // 4)
    generated = run(
        [
            "manage.py",
            "generate_conversations",
            "otto-carmen",
            "--sessions",
            str(sessions),
            "--turns-per-session",
            "4",
        ],
        environment,
    )
    # Statistics and the visibility map, as autovacuum (PostgreSQL) or a periodic ANALYZE
    # (SQLite) would leave them shortly after a bulk load; without them the planner guesses.
    run(["-c", REFRESH_STATISTICS], environment)
    _out(f"== {name}: {generated}")
    _out(run(["-c", MEASURE.format(repeats=repeats)], environment))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    options = parser.parse_args()
    if options.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as directory:
            bench(
                "SQLite",
                {"SQLITE_PATH": str(Path(directory) / "bench.sqlite3"), "DATABASE_URL": ""},
                options.turns,
                options.repeats,
            )
    if options.backend in ("postgres", "both"):
        import psycopg

        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
            connection.execute(f"CREATE DATABASE {BENCH_DATABASE}")
        try:
            bench(
                "PostgreSQL",
                {"DATABASE_URL": f"{POSTGRES_SERVER}/{BENCH_DATABASE}"},
                options.turns,
                options.repeats,
            )
        finally:
            with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as connection:
                connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
