"""A tiny JSON-over-HTTP client for tests and benchmarks that drive the running product."""

import json
import urllib.request
from typing import Any


def call_json(method: str, url: str, body: Any = None, *, timeout: float = 70) -> Any:
    """Send `body` as JSON and return the decoded answer; HTTP errors raise urllib's HTTPError."""
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())
