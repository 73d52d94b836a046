"""System checks for running in production (ids parlant.W2xx)."""

import os

from django.conf import settings
from django.core.checks import Warning, register


@register(deploy=True)
def check_metrics_directory(app_configs, **kwargs):
    if settings.PARLANT_INPROCESS_WORKER or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return []
    return [
        Warning(
            "PROMETHEUS_MULTIPROC_DIR is not set: /metrics will count this web process only, "
            "not the turns that Celery workers run.",
            hint="Point PROMETHEUS_MULTIPROC_DIR of the web and worker processes on a host at "
            "one shared, writable directory (deploy/entrypoint.sh creates it).",
            id="parlant.W201",
        )
    ]


@register(deploy=True)
def check_log_format(app_configs, **kwargs):
    if settings.LOG_FORMAT == "json":
        return []
    return [
        Warning(
            "LOG_FORMAT is not json: log lines are plain text.",
            hint="Set LOG_FORMAT=json for one JSON object per line, with session, trace and "
            "correlation ids.",
            id="parlant.W202",
        )
    ]
