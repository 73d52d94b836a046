"""Where turns run: the Celery worker, or in the embedded mode an in-process thread pool.

Both run the same task function with the same JSON arguments, always after the caller's
transaction commits, so a worker never looks for rows that are not there yet.
"""

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What publishing raises while the broker is away (kombu wraps most, not all, of redis' errors).
BROKER_ERRORS = (OperationalError, RedisError, OSError)
# Publishing retries briefly so a broker blip costs nothing, then gives up within about a second
# so the customer's request is answered; the sweeper covers longer outages.
BROKER_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.3}

_pool: ThreadPoolExecutor | None = None


def _in_process_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=settings.PARLANT_INPROCESS_WORKER_THREADS, thread_name_prefix="turn"
        )
    return _pool


def _run_in_thread(task: Any, arguments: list[Any]) -> None:
    close_old_connections()
    try:
        task.run(*arguments)
    except Exception:
        logger.exception("in-process task failed", extra={"task": task.name})
    finally:
        close_old_connections()


def send_on_commit(task: Any, *arguments: Any) -> None:
    """Queue `task(*arguments)` to run once the current transaction commits."""
    transaction.on_commit(partial(send_now, task, *arguments))


def send_now(task: Any, *arguments: Any) -> bool:
    """Queue `task(*arguments)` now; False if the broker cannot be reached.

    A broker outage is not the caller's failure: what it stored is committed, and the sweeper
    (sessions_app/sweeper.py) sends the task again once the broker is back.
    """
    # Round-trip through JSON, as a broker would, so the embedded mode cannot hide a payload
    # that the distributed mode would reject.
    payload = json.loads(json.dumps(list(arguments)))
    if settings.PARLANT_INPROCESS_WORKER:
        _in_process_pool().submit(_run_in_thread, task, payload)
        return True
    try:
        task.apply_async(args=payload, retry_policy=BROKER_RETRY_POLICY)
    except BROKER_ERRORS:
        logger.warning("broker unreachable; the turn sweep will send it", extra={"task": task.name})
        return False
    return True
