# One image for the web process and the worker: `docker run IMAGE web` or `docker run IMAGE worker`.
# Every start step lives in deploy/entrypoint.sh, which the test suite runs outside a container.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles \
    PROMETHEUS_MULTIPROC_DIR=/run/parlant/metrics \
    LOG_FORMAT=json \
    DEBUG=0

WORKDIR /app
COPY requirements.txt .
# psycopg[binary] brings its own libpq: no compiler or system libraries are needed.
RUN pip install -r requirements.txt

RUN useradd --system --uid 10001 --home-dir /app parlant \
    && mkdir -p /app/staticfiles /run/parlant/metrics \
    && chown -R parlant /app/staticfiles /run/parlant
COPY --chown=parlant . .

USER parlant
EXPOSE 8800
# Daphne drains and Celery warm-shuts-down on SIGTERM; give them time before SIGKILL.
STOPSIGNAL SIGTERM
# Liveness from inside the container, with a Host that ALLOWED_HOSTS accepts.
HEALTHCHECK --interval=10s --timeout=3s CMD python deploy/probe.py /healthz
ENTRYPOINT ["deploy/entrypoint.sh"]
CMD ["web"]
