"""Custom NLP services and engine hooks plug in through settings, as documented."""

import pytest

from sessions_app import engine_adapter
from sessions_app.services import customer_message_post
from sessions_app.tasks import respond_to_session
from tests.builders import make_agent, make_greeting, make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_engine():
    engine_adapter.engine.cache_clear()
    engine_adapter.nlp_service.cache_clear()
    yield
    engine_adapter.engine.cache_clear()
    engine_adapter.nlp_service.cache_clear()


def test_a_custom_provider_and_hooks_are_loaded_by_dotted_path(
    settings, fresh_engine, django_capture_on_commit_callbacks
):
    settings.PARLANT_NLP_PROVIDER = "tests.support.extensions.ShoutingLocalService"
    settings.PARLANT_ENGINE_HOOKS = "tests.support.extensions.signing_hooks"
    agent = make_agent(name="Otto")
    make_greeting(agent)
    session = make_session(agent=agent)
    with django_capture_on_commit_callbacks(execute=False):
        message = customer_message_post(session=session, message="Hello!")
    respond_to_session.run(session.id, message.offset)
    reply = session.events.get(kind="message", source="ai_agent")
    assert reply.data["message"].endswith("(via hook)")
    assert session.turns.get().trace["nlp"] == "shouting-local"


def test_an_unknown_provider_is_refused_by_a_system_check(settings):
    from parlant_site.checks import check_nlp_provider

    settings.PARLANT_NLP_PROVIDER = "gemini"
    assert [error.id for error in check_nlp_provider(None)] == ["parlant.E001"]
