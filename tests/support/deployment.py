"""The product started as its image starts it (deploy/entrypoint.sh), outside a container.

Each deployment gets its own database (a SQLite file, or a fresh PostgreSQL database when
DATABASE_URL is set) and its OWN redis-server on a free port, so a test may stop and restart
Redis without touching the machine's shared one. Processes are started and stopped by role.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.live_stack import ROOT, free_port, provision_database

ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed (apt-get install redis-server)"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _answers_ping(self.port), "redis-server to start", seconds=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def _answers_ping(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def wait_until(condition, what: str, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@dataclass
class Deployment:
    url: str
    port: int
    environment: dict[str, str]
    log_dir: Path
    redis: RedisServer
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _log_counter: int = 0

    def start(self, role: str) -> subprocess.Popen:
        self._log_counter += 1
        log = open(self.log_dir / f"{role}-{self._log_counter}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            ["bash", str(ENTRYPOINT), role], cwd=ROOT, env=self.environment,
            stdout=log, stderr=subprocess.STDOUT,
        )
        self.processes[role] = process
        if role == "web":
            wait_until(lambda: self.get("/healthz")[0] == 200 or process.poll() is not None,
                       "the web process to serve", seconds=90)
            assert process.poll() is None, self.logs()
        return process

    def stop(self, role: str, *, seconds: float = 60) -> int:
        """SIGTERM, as `docker stop` sends; the exit code once the process is gone."""
        process = self.processes.pop(role)
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=seconds)

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except OSError:
            return 0, b""

    def manage(self, *arguments: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *arguments], cwd=ROOT, env=self.environment,
            capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0, f"manage.py {arguments}: {result.stderr[-3000:]}"
        return result.stdout

    def log_lines(self, role: str) -> list[str]:
        return [
            line
            for path in sorted(self.log_dir.glob(f"{role}-*.log"))
            for line in path.read_text(errors="replace").splitlines()
        ]

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name} ---\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.log_dir.glob("*.log"))
        )


@contextmanager
def deployment(extra_environment: dict[str, str] | None = None) -> Iterator[Deployment]:
    """Database migrated and seeded, Redis up; no process started yet (see Deployment.start)."""
    log_dir = Path(tempfile.mkdtemp(prefix="parlant-deploy-"))
    redis = RedisServer(port=free_port())
    redis.start()
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    queue = f"deploy{uuid.uuid4().hex[:8]}"
    environment.update({
        "PYTHON": sys.executable,
        "PYTHONUNBUFFERED": "1",
        "PORT": str(port),
        "BIND": "127.0.0.1",
        "REDIS_URL": redis.url,
        "CHANNELS_PREFIX": queue,
        "CELERY_DEFAULT_QUEUE": queue,
        "STATIC_ROOT": str(log_dir / "static"),
        "PROMETHEUS_MULTIPROC_DIR": str(log_dir / "metrics"),
        "WORKER_CONCURRENCY": "2",
        **(extra_environment or {}),
    })
    drop_database = provision_database(environment, log_dir)
    stack = Deployment(
        url=f"http://127.0.0.1:{port}", port=port, environment=environment, log_dir=log_dir,
        redis=redis,
    )
    try:
        stack.manage("migrate", "--no-input", "-v0")
        stack.manage("seed_demo")
        yield stack
    finally:
        for process in stack.processes.values():
            process.kill()
            process.wait(timeout=10)
        redis.stop()
        drop_database()
