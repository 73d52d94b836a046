"""The official parlant-client drives the basic flow against the running product, unchanged."""

import os
import re
import time

import pytest
from parlant.client import ParlantClient
from parlant.client.core.api_error import ApiError


@pytest.fixture(scope="module")
def client(product) -> ParlantClient:
    return ParlantClient(base_url=product.url, timeout=90)


def wait_for_agent_message(client: ParlantClient, session_id: str, min_offset: int):
    """Loop on long-polls as Parlant's clients do, until the agent's message arrives."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            events = client.sessions.list_events(
                session_id, min_offset=min_offset, kinds="message", wait_for_data=10
            )
        except ApiError as error:
            if error.status_code != 504:
                raise
            continue
        replies = [event for event in events if event.source == "ai_agent"]
        if replies:
            return replies[0]
        min_offset = max(event.offset for event in events) + 1
    raise AssertionError("the agent did not answer within 30 s")


def test_the_basic_flow_works_with_the_official_client(client):
    customer = client.customers.create(name="Dana Levi", metadata={"tier": "gold"})
    assert client.customers.retrieve(customer.id).name == "Dana Levi"
    agents = client.agents.list()
    otto = next(agent for agent in agents if agent.name == "Otto Carmen")
    session = client.sessions.create(agent_id=otto.id, customer_id=customer.id, title="Visit")
    assert (session.customer_id, session.mode, session.title) == (customer.id, "auto", "Visit")

    posted = client.sessions.create_event(
        session.id, kind="message", source="customer", message="Hi there!"
    )
    assert posted.offset == 0
    reply = wait_for_agent_message(client, session.id, min_offset=posted.offset + 1)
    assert "drink" in reply.data["message"].lower()
    assert reply.data["participant"]["display_name"] == "Otto Carmen"

    statuses = [
        event.data["status"]
        for event in client.sessions.list_events(session.id, kinds="status", wait_for_data=0)
    ]
    assert statuses[:1] == ["acknowledged"]
    assert "typing" in statuses
    offsets = [event.offset for event in client.sessions.list_events(session.id, wait_for_data=0)]
    assert offsets == list(range(len(offsets)))


def test_turns_run_where_the_configuration_says(client, product):
    """With REDIS_URL a Celery worker process runs the turn; without, the in-process worker."""
    session = client.sessions.create(agent_id="otto-carmen")
    posted = client.sessions.create_event(
        session.id, kind="message", source="customer", message="Hello!"
    )
    wait_for_agent_message(client, session.id, min_offset=posted.offset + 1)
    worker_log = product.log_dir / "celery.log"
    if os.environ.get("REDIS_URL"):
        assert re.search(r"respond_to_session\[[0-9a-f-]+\] succeeded", worker_log.read_text())
    else:
        assert not worker_log.exists()


def test_a_long_poll_with_nothing_new_answers_504_after_the_wait(client):
    agent = client.agents.create(name="Quiet agent")
    session = client.sessions.create(agent_id=agent.id)
    started = time.monotonic()
    with pytest.raises(ApiError) as raised:
        client.sessions.list_events(session.id, min_offset=0, wait_for_data=1)
    elapsed = time.monotonic() - started
    assert raised.value.status_code == 504
    assert 0.9 <= elapsed < 5


def test_a_long_poll_returns_as_soon_as_an_event_arrives(client, product):
    import threading

    agent = client.agents.create(name="Echo agent")
    session = client.sessions.create(agent_id=agent.id)
    timer = threading.Timer(
        0.5,
        lambda: client.sessions.create_event(
            session.id, kind="custom", source="system", data={"ping": True}
        ),
    )
    started = time.monotonic()
    timer.start()
    events = client.sessions.list_events(session.id, min_offset=0, wait_for_data=20)
    elapsed = time.monotonic() - started
    timer.join()
    assert [event.data for event in events] == [{"ping": True}]
    assert elapsed < 10, f"the long-poll waited {elapsed:.1f} s after the event arrived"


def test_errors_come_back_as_4xx_through_the_client(client):
    with pytest.raises(ApiError) as raised:
        client.sessions.retrieve("does-not-exist")
    assert raised.value.status_code == 404
