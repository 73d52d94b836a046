from typing import TYPE_CHECKING

import pytest

from tests.support.live_stack import live_stack
from tests.support.scripted_openai import scripted_openai  # noqa: F401  (fixture)

if TYPE_CHECKING:
    from rest_framework.test import APIClient

    from tests.support.live_stack import LiveStack


@pytest.fixture
def api_client() -> "APIClient":
    # Imported here because DRF reads Django settings on import, and the engine tests must run
    # without Django (`-p no:django`).
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture(scope="session")
def product() -> "LiveStack":
    """The product running in real processes (Daphne; with REDIS_URL also a Celery worker)."""
    with live_stack() as stack:
        yield stack
