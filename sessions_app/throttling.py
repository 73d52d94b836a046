"""Rate limits per operation and per client, kept in the cache (Redis in the distributed mode).

The rate of each operation comes from settings.PARLANT_RATE_LIMITS (Parlant's defaults), and
every other operation shares PARLANT_DEFAULT_RATE_LIMIT. Admins and the development policy are
not limited, as in Parlant. A refused request answers 429 with Retry-After.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from sessions_app.authentication import principal_of
from sessions_app.permissions import Operation, authorization_policy, declared_operation


class OperationRateThrottle(SimpleRateThrottle):
    """A moving window of requests per (operation, client), like ScopedRateThrottle's."""

    cache_format = "throttle:%(scope)s:%(ident)s"

    def __init__(self) -> None:  # the rate depends on the request's operation, not the class
        pass

    def allow_request(self, request: Any, view: Any) -> bool:
        return self.allow_operation(request, declared_operation(view, request))

    def allow_operation(self, request: Any, operation: Operation | None) -> bool:
        principal = principal_of(request)
        if not authorization_policy().enforces_rate_limits or principal.is_admin:
            return True
        self.scope = operation.value if operation else "other"
        self.rate = settings.PARLANT_RATE_LIMITS.get(
            self.scope, settings.PARLANT_DEFAULT_RATE_LIMIT
        )
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.cache_format % {"scope": self.scope, "ident": principal.client_key}
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()


def throttle_wait(request: Any, operation: Operation) -> float | None:
    """For views outside the REST framework: None if allowed, else seconds to wait."""
    throttle = OperationRateThrottle()
    if throttle.allow_operation(request, operation):
        return None
    return throttle.wait() or 1.0
