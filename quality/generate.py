"""Generated conversations for the insights benchmark and the browser test.

Rows are written in bulk the way finished turns leave them (session, events, turn with a trace,
and the turn's facts), from a seeded random generator so every run builds the same set. The
mix (a quarter of messages unmatched, one session in ten handed off, journeys often left half
way) only gives every chart something to show; nothing is tuned to a figure.
"""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from behavior.snapshot import agent_snapshot
from quality.models import GuidelineMatch, JourneyProgress, TurnFacts
from quality.services import latency_bucket
from sessions_app.models import Customer, Event, Session, Turn

BATCH = 2000
UNMATCHED_MESSAGES = [
    "Do you sell bicycles?",
    "Can I pay in bitcoin?",
    "Is there a charging station nearby?",
    "Do you repair motorbikes?",
]


@dataclass(frozen=True)
class Generated:
    sessions: int
    turns: int
    unhandled: int
    handed_off: int


def _bulk(model: type, rows: list) -> None:
    model.objects.bulk_create(rows, batch_size=BATCH)
    rows.clear()


@transaction.atomic
def conversations_generate(
    *, agent_id: str, sessions: int, turns_per_session: int, days: int = 30, seed: int = 7
) -> Generated:
    """Create `sessions` sessions of `turns_per_session` answered customer messages each,
    spread over the last `days` days."""
    rng = random.Random(seed)
    snapshot = agent_snapshot(agent_id)
    guidelines = [g for g in snapshot.guidelines if g.journey_id is None]
    journeys = snapshot.journeys
    now = timezone.now()
    customer = Customer.objects.create(name="Generated customer")
    pending: dict[type, list] = {
        Session: [],
        Event: [],
        Turn: [],
        TurnFacts: [],
        GuidelineMatch: [],
        JourneyProgress: [],
    }
    unhandled = handed_off = 0
    for number in range(sessions):
        started = now - timedelta(days=rng.random() * days)
        is_handoff = rng.random() < 0.1
        handed_off += is_handoff
        session = Session(
            agent_id=agent_id,
            customer=customer,
            title=f"Generated conversation {number + 1}",
            created_at=started,
            updated_at=started,
            next_offset=turns_per_session * 2,
            mode=Session.Mode.MANUAL if is_handoff else Session.Mode.AUTO,
        )
        pending[Session].append(session)
        journey = rng.choice(journeys) if journeys and rng.random() < 0.4 else None
        journey_states = [s.id for s in journey.states] if journey else []
        steps_reached = rng.randint(1, len(journey_states) + 1) if journey else 0
        for turn_number in range(turns_per_session):
            at = started + timedelta(seconds=40 * turn_number)
            offset = turn_number * 2
            is_unmatched = rng.random() < 0.25 or not guidelines
            matched = [] if is_unmatched else rng.sample(guidelines, k=min(2, rng.randint(1, 2)))
            unhandled += is_unmatched and journey is None
            message = rng.choice(UNMATCHED_MESSAGES) if is_unmatched else matched[0].condition
            latency_ms = rng.lognormvariate(7.0, 0.4)
            prompt_tokens, completion_tokens = rng.randint(900, 1800), rng.randint(30, 120)
            pending[Event] += [
                Event(
                    session=session,
                    offset=offset,
                    kind=Event.Kind.MESSAGE,
                    source=Event.Source.CUSTOMER,
                    data={"message": message},
                    created_at=at,
                ),
                Event(
                    session=session,
                    offset=offset + 1,
                    kind=Event.Kind.MESSAGE,
                    source=Event.Source.AI_AGENT,
                    data={"message": "Generated reply."},
                    created_at=at + timedelta(milliseconds=latency_ms),
                ),
            ]
            trace = {
                "iterations": [{"considered": len(guidelines)}],
                "matched": [{"id": g.id, "rationale": "generated"} for g in matched],
                "llm_calls": [
                    {
                        "model": "gpt-4o-mini",
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": 0,
                    },
                    {
                        "model": "gpt-4o-mini",
                        "prompt_tokens": 0,
                        "completion_tokens": completion_tokens,
                    },
                ],
            }
            turn = Turn(
                session=session,
                trigger_offset=offset,
                trace_id=f"generated-{number}-{turn_number}",
                status=Turn.Status.COMPLETED,
                trace=trace,
                created_at=at,
                finished_at=at + timedelta(milliseconds=latency_ms),
            )
            pending[Turn].append(turn)
            facts = TurnFacts(
                turn=turn,
                agent_id=agent_id,
                session=session,
                created_at=at,
                day=timezone.localdate(at),
                is_first_turn=turn_number == 0,
                trigger_offset=offset,
                is_unhandled=is_unmatched and journey is None,
                is_handoff=is_handoff and turn_number == turns_per_session - 1,
                llm_calls=2,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                model="gpt-4o-mini",
                latency_ms=latency_ms,
                latency_bucket=latency_bucket(latency_ms),
            )
            pending[TurnFacts].append(facts)
            pending[GuidelineMatch] += [
                GuidelineMatch(
                    turn=facts, agent_id=agent_id, guideline_id=g.id, created_at=at, day=facts.day
                )
                for g in matched
            ]
        if journey is not None:
            is_completed = steps_reached > len(journey_states)
            pending[JourneyProgress].append(
                JourneyProgress(
                    agent_id=agent_id,
                    session=session,
                    journey_id=journey.id,
                    started_at=started,
                    last_state_id=journey_states[min(steps_reached, len(journey_states)) - 1],
                    is_completed=is_completed,
                )
            )
        if len(pending[Event]) >= BATCH * 4:
            for model in pending:  # parents before children
                _bulk(model, pending[model])
    for model in pending:
        _bulk(model, pending[model])
    return Generated(
        sessions=sessions,
        turns=sessions * turns_per_session,
        unhandled=unhandled,
        handed_off=handed_off,
    )
