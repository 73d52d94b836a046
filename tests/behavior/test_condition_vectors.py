"""Condition vectors are stored when behaviour is saved, per text and model, and kept current."""

import pytest
from django.core.management import call_command

from behavior import services
from behavior.checks import check_condition_vectors
from behavior.models import Guideline
from behavior.snapshot import agent_snapshot
from engine.nlp.embedding import LOCAL_EMBEDDING_MODEL
from tests.builders import make_agent

pytestmark = pytest.mark.django_db


def _guideline(agent_id: str, condition: str) -> Guideline:
    return services.guideline_create(
        condition=condition, action="help", tag_ids=[f"agent:{agent_id}"]
    )


def test_a_saved_guideline_carries_a_sentence_vector_of_the_configured_model():
    agent = make_agent()
    row = _guideline(agent.id, "the customer's card was retained by an ATM")
    assert row.embedding_model == LOCAL_EMBEDDING_MODEL
    assert len(row.condition_embedding) == 384

    snapshot = agent_snapshot(agent.id)
    assert snapshot.embedding_model == LOCAL_EMBEDDING_MODEL
    assert snapshot.guidelines[0].condition_embedding == tuple(row.condition_embedding)
    assert check_condition_vectors(None) == []


def test_vectors_of_another_model_are_left_out_reported_and_recomputed_by_the_command():
    agent = make_agent()
    row = _guideline(agent.id, "the customer asks about opening hours")
    Guideline.objects.filter(pk=row.pk).update(embedding_model="an-older-model")

    assert agent_snapshot(agent.id).guidelines[0].condition_embedding is None
    warnings = check_condition_vectors(None)
    assert [w.id for w in warnings] == ["parlant.W010"]
    assert "1 guideline" in warnings[0].msg

    call_command("embed_conditions")
    row.refresh_from_db()
    assert row.embedding_model == LOCAL_EMBEDDING_MODEL
    assert agent_snapshot(agent.id).guidelines[0].condition_embedding is not None
    assert check_condition_vectors(None) == []
