"""The whole product in real processes for end-to-end tests: Daphne, and a Celery worker on Redis.

Each stack gets a database of its own (a temporary SQLite file, or a fresh PostgreSQL database
when DATABASE_URL is set), so tests talk to it only as clients do: over HTTP and WebSockets.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveStack:
    url: str
    environment: dict[str, str]
    log_dir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name} ---\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.log_dir.glob("*.log"))
        )

    def start_worker(self, name: str = "celery") -> subprocess.Popen:
        """Start one more Celery worker process on the stack's queue (distributed mode only)."""
        worker_log = open(self.log_dir / f"{name}.log", "a")  # noqa: SIM115  (closed with it)
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "parlant_site",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "--pool=threads",
                "-Q",
                self.environment["CELERY_DEFAULT_QUEUE"],
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=self.environment,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(worker)
        return worker

    def manage(self, *arguments: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return result.stdout


def _postgres_database(base_url: str) -> tuple[str, str]:
    parsed = urlparse(base_url)
    name = f"parlant_e2e_{uuid.uuid4().hex[:10]}"
    return name, urlunparse(parsed._replace(path=f"/{name}"))


def _admin_connection(base_url: str):
    import psycopg

    parsed = urlparse(base_url)
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    return psycopg.connect(admin_url, autocommit=True)


def provision_database(environment: dict[str, str], log_dir: Path) -> Callable[[], None]:
    """Point `environment` at a database of the stack's own (a fresh PostgreSQL database when
    DATABASE_URL is set, else a SQLite file in `log_dir`); returns how to drop it afterwards."""
    database_url = environment.get("DATABASE_URL", "")
    if not database_url:
        environment["SQLITE_PATH"] = str(log_dir / "db.sqlite3")
        return lambda: None
    database_name, environment["DATABASE_URL"] = _postgres_database(database_url)
    with _admin_connection(database_url) as connection:
        connection.execute(f'CREATE DATABASE "{database_name}"')

    def drop() -> None:
        with _admin_connection(database_url) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')

    return drop


def _wait_until_serving(url: str, process: subprocess.Popen, stack: LiveStack) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early\n{stack.logs()}")
        try:
            with urllib.request.urlopen(f"{url}/agents", timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as refusal:
            if refusal.code in (401, 403):  # serving, under a policy that wants credentials
                return
            time.sleep(0.1)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start within 60 s\n{stack.logs()}")


@contextmanager
def live_stack(extra_environment: dict[str, str] | None = None) -> Iterator[LiveStack]:
    log_dir = Path(tempfile.mkdtemp(prefix="parlant-stack-"))
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment.update({
        "DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
        # Tests add agents of their own to the shared stack; customers at / talk to the demo.
        "PARLANT_CHAT_AGENT_ID": "otto-carmen",
        **(extra_environment or {}),
    })
    drop_database = provision_database(environment, log_dir)
    if environment.get("REDIS_URL"):
        # A private channel prefix keeps concurrent stacks from hearing each other's pushes.
        environment["CHANNELS_PREFIX"] = f"e2e{uuid.uuid4().hex[:8]}"
        environment["CELERY_DEFAULT_QUEUE"] = environment["CHANNELS_PREFIX"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    stack = LiveStack(url=url, environment=environment, log_dir=log_dir)
    processes = stack.processes
    try:
        stack.manage("migrate", "--no-input", "-v0")
        stack.manage("seed_demo")
        server_log = open(log_dir / "daphne.log", "w")  # noqa: SIM115  (closed with the process)
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "parlant_site.asgi:application",
                ],
                cwd=ROOT,
                env=environment,
                stdout=server_log,
                stderr=subprocess.STDOUT,
            )
        )
        if environment.get("REDIS_URL"):
            stack.start_worker()
        _wait_until_serving(url, processes[0], stack)
        yield stack
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        drop_database()
