"""Liveness (/healthz) and readiness (/readyz) for load balancers and orchestrators.

Both are open (a load balancer has no credentials) and say nothing but the names of what was
checked and "ok" or "unavailable": no hosts, versions or error texts. Readiness runs its checks
concurrently with a one-second budget each, so polling it every few seconds costs a few
milliseconds while everything is up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from celery import current_app
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.contrib.celery import Ping
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from redis.asyncio import Redis as RedisClient

from operations.connections import is_draining

logger = logging.getLogger(__name__)

ONE_SECOND = datetime.timedelta(seconds=1)


@dataclasses.dataclass
class ChannelLayer(HealthCheck):
    """A message sent to a fresh channel on the channel layer comes back."""

    timeout = ONE_SECOND

    async def run(self) -> None:
        layer = get_channel_layer()
        try:
            channel = await layer.new_channel("health.")
            await layer.send(channel, {"type": "health.ping"})
            message = await asyncio.wait_for(layer.receive(channel), self.timeout.total_seconds())
        except (OSError, TimeoutError, ConnectionError) as error:
            raise ServiceUnavailable("channel layer unreachable") from error
        except Exception as error:  # redis-py's errors do not all derive from OSError
            raise ServiceUnavailable("channel layer unreachable") from error
        if message.get("type") != "health.ping":
            raise ServiceUnavailable("channel layer returned another message")


@dataclasses.dataclass
class InProcess(HealthCheck):
    """The embedded mode's broker and worker live in this very process: up if we answer."""

    async def run(self) -> None:
        return None


@dataclasses.dataclass
class LiveWorker(Ping):
    """At least one Celery worker of this deployment answers a ping.

    Returns on the first answer (limit=1). Workers answer on the control exchange, which
    settings name after the deployment's queue, so only workers that take our turns count.
    """

    timeout: datetime.timedelta = dataclasses.field(default=ONE_SECOND, repr=False)
    limit: int | None = dataclasses.field(default=1, repr=False)

    def check_active_queues(self, *active_workers: str) -> None:
        return None  # the control exchange already scopes the answer to our queue


def readiness_checks() -> dict[str, HealthCheck]:
    """What must be reachable for this process to serve customers, by the name it reports."""
    if settings.PARLANT_INPROCESS_WORKER:
        broker: HealthCheck = InProcess()
        worker: HealthCheck = InProcess()
    else:
        broker = Redis(
            client_factory=lambda: RedisClient.from_url(
                settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1
            )
        )
        broker.timeout = ONE_SECOND
        worker = LiveWorker(app=current_app)
    return {
        "database": Database(),
        "channel_layer": ChannelLayer(),
        "broker": broker,
        "worker": worker,
    }


class ReadinessView(HealthCheckView):
    """django-health-check runs the checks; the answer names each one and nothing more."""

    async def get(self, request: HttpRequest, *args, **kwargs) -> JsonResponse:
        checks = readiness_checks()
        with self.get_executor() as executor:
            results = await asyncio.gather(
                *(check.get_result(executor) for check in checks.values())
            )
        answer = {
            name: "unavailable" if result.error else "ok"
            for name, result in zip(checks, results, strict=True)
        }
        is_ready = not any(result.error for result in results) and not is_draining()
        body = {"status": "ready" if is_ready else "not ready", "checks": answer}
        if is_draining():
            body["draining"] = True
        return JsonResponse(body, status=200 if is_ready else 503)

    @contextmanager
    def get_executor(self) -> Iterator[ThreadPoolExecutor]:
        # A fresh pool per probe, left behind without waiting: a client stuck on a dead broker
        # must not hold the threads that the next probe's database check needs.
        executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")
        try:
            yield executor
        finally:
            executor.shutdown(wait=False)


readiness = ReadinessView.as_view()


@require_GET
def liveness(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving requests; nothing else is touched."""
    response = JsonResponse({"status": "alive"})
    add_never_cache_headers(response)
    return response
