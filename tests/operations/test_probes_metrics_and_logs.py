"""Health probes, the metrics endpoint's policy, and what a JSON log line may carry."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from django.core.cache import cache

from operations.json_logging import ContextFilter, JsonFormatter
from operations.log_context import log_context
from sessions_app.services import api_key_create

STRICT = "sessions_app.permissions.StrictAuthorizationPolicy"


@pytest.fixture
def strict(settings):
    settings.PARLANT_AUTHORIZATION_POLICY = STRICT
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
@pytest.mark.usefixtures("strict")
def test_the_probes_are_open_and_say_only_what_they_checked(client, settings):
    alive = client.get("/healthz")
    assert alive.status_code == 200
    assert alive.json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert "no-cache" in ready["Cache-Control"]
    checks = ready.json()["checks"]
    assert checks.keys() == {"database", "channel_layer", "broker", "worker"}
    assert checks["database"] == checks["channel_layer"] == checks["broker"] == "ok"
    if settings.PARLANT_INPROCESS_WORKER:  # embedded: the worker is this very process
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready"
    else:
        # With REDIS_URL no worker serves this test process's queue (live stacks use their
        # own): not ready, and the answer says why.
        assert ready.status_code == 503
        assert checks["worker"] == "unavailable"


@pytest.mark.django_db
@pytest.mark.usefixtures("strict")
def test_metrics_need_the_read_metrics_operation(client):
    assert client.get("/metrics").status_code == 401
    _, app_key = api_key_create(name="app", role="app")
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {app_key}").status_code == 403
    _, monitoring_key = api_key_create(name="prometheus", role="monitoring")
    scraped = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {monitoring_key}")
    assert scraped.status_code == 200
    assert scraped["Content-Type"].startswith("text/plain")
    text = scraped.content.decode()
    for name in ("parlant_turns_waiting", "parlant_handoffs_waiting", "parlant_open_websockets"):
        assert f"\n{name} " in text
    # The monitoring key reaches nothing else.
    assert client.get("/sessions", HTTP_AUTHORIZATION=f"Bearer {monitoring_key}").status_code == 403


def _format(record: logging.LogRecord, *, verbose: bool) -> dict:
    ContextFilter().filter(record)
    return json.loads(JsonFormatter(include_everything=verbose).format(record))


def _record(message: str, *args, **extra) -> logging.LogRecord:
    record = logging.LogRecord("sessions_app.test", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_a_json_line_carries_the_conversation_ids_and_no_customer_text():
    with log_context(session_id="s1", trace_id="t1", correlation_id="c1"):
        record = _record("customer said %s", "my card number is 4111", outcome="completed",
                         message_text="my card number is 4111")
        line = _format(record, verbose=False)
    assert line["session_id"] == "s1"
    assert line["trace_id"] == "t1"
    assert line["correlation_id"] == "c1"
    assert line["outcome"] == "completed"
    assert "4111" not in json.dumps(line)


def _fail_on(customer_text: str) -> None:
    raise ValueError(f"the customer wrote: {customer_text}")


def test_an_exception_keeps_its_type_and_stack_but_not_its_message():
    try:
        _fail_on("my password is hunter" + "2")
    except ValueError:
        record = _record("turn failed")
        record.exc_info = sys.exc_info()
    line = _format(record, verbose=False)
    assert line["error_type"] == "ValueError"
    assert "test_probes_metrics_and_logs.py" in line["stack"]
    assert "hunter2" not in json.dumps(line)
    assert "hunter2" in json.dumps(_format(record, verbose=True))


def test_debug_logging_is_the_explicit_switch_for_everything():
    record = _record("customer said %s", "hello there", message_text="hello there")
    line = _format(record, verbose=True)
    assert line["event"] == "customer said hello there"
    assert line["message_text"] == "hello there"


def test_check_deploy_asks_for_json_logs_and_a_shared_metrics_directory():
    from tests.sessions_app.test_authorization_deploy import PRODUCTION, ROOT

    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("PYTEST", "DJANGO_SETTINGS", "PROMETHEUS"))}
    environment.update(PRODUCTION, LOG_FORMAT="text")
    del environment["PROMETHEUS_MULTIPROC_DIR"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "parlant.W201" in result.stderr
    assert "parlant.W202" in result.stderr
