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

logger = logging.getLogger(__name__)

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
    # Round-trip through JSON, as a broker would, so the embedded mode cannot hide a payload
    # that the distributed mode would reject.
    payload = json.loads(json.dumps(list(arguments)))
    if settings.PARLANT_INPROCESS_WORKER:
        transaction.on_commit(partial(_in_process_pool().submit, _run_in_thread, task, payload))
    else:
        transaction.on_commit(partial(task.apply_async, args=payload))
