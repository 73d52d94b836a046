"""Reads of the quality app: the insights of an agent over a period, in aggregate queries.

Every figure is a GROUP BY or an aggregate over the narrow per-turn rows (TurnFacts,
GuidelineMatch, JourneyProgress); nothing loops over turns in Python. The page runs a fixed
number of queries whatever the number of turns (tests/quality counts them).
"""

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from quality.models import GuidelineMatch, JourneyProgress, ModelPrice, TurnFacts

UNHANDLED_LISTED = 50
MOST_MATCHED_LISTED = 10


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        zone = timezone.get_current_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def default_period(days: int = 30) -> Period:
    today = timezone.localdate()
    return Period(start=today - timedelta(days=days - 1), end=today)


def _percentiles(bucket_counts: list[tuple[int, int]], fractions: tuple[float, ...]) -> list:
    """Nearest-rank percentiles from (bucket, count) rows in bucket order: each answer is the
    upper bound of the bucket holding that rank."""
    from quality.services import bucket_upper_ms

    total = sum(count for _, count in bucket_counts)
    answers = []
    for fraction in fractions:
        if not total:
            answers.append(None)
            continue
        rank, seen = max(1, math.ceil(fraction * total)), 0
        for bucket, count in bucket_counts:
            seen += count
            if seen >= rank:
                answers.append(bucket_upper_ms(bucket))
                break
    return answers


def agent_insights(agent_id: str, period: Period) -> dict[str, Any]:
    from behavior.snapshot import agent_snapshot
    from sessions_app.models import Event, Session

    facts = TurnFacts.objects.filter(agent_id=agent_id, day__range=(period.start, period.end))

    per_day = dict(
        facts.filter(is_first_turn=True)
        .values("day")
        .annotate(total=Count("day"))
        .values_list("day", "total")
    )
    # One scan for the per-model sums; every turn has one model, so the conversation and
    # unhandled counts add up across the groups exactly.
    usage_rows = list(
        facts.values("model").annotate(
            turns=Count("day"),
            calls=Sum("llm_calls"),
            prompt=Sum("prompt_tokens"),
            completion=Sum("completion_tokens"),
            conversations=Count("day", filter=Q(is_first_turn=True)),
            unhandled=Count("day", filter=Q(is_unhandled=True)),
        )
    )
    asked_for_human = set(
        facts.filter(is_handoff=True).values_list("session_id", flat=True).distinct()
    )
    # Sessions an operator took over without the agent asking are still in manual mode.
    start, end = period.bounds
    taken_over = set(
        Session.objects.filter(
            agent_id=agent_id, mode=Session.Mode.MANUAL, created_at__gte=start, created_at__lt=end
        ).values_list("id", flat=True)
    )
    handed_off = len(asked_for_human | taken_over)
    totals = {
        "conversations": sum(row["conversations"] for row in usage_rows),
        "unhandled": sum(row["unhandled"] for row in usage_rows),
    }

    start, end = period.bounds
    # By time, not day: the (agent, is_unhandled, created_at) index yields the newest at once.
    unhandled = TurnFacts.objects.filter(
        agent_id=agent_id, is_unhandled=True, created_at__gte=start, created_at__lt=end
    )
    unhandled_count = totals["unhandled"]
    unhandled_rows = list(
        unhandled.order_by("-created_at").values("session_id", "trigger_offset", "created_at")[
            :UNHANDLED_LISTED
        ]
    )
    messages: dict[tuple[str, int], str] = {}
    if unhandled_rows:
        wanted = Q()
        for row in unhandled_rows:
            wanted |= Q(session_id=row["session_id"], offset=row["trigger_offset"])
        for session_id, offset, data in Event.objects.filter(wanted).values_list(
            "session_id", "offset", "data"
        ):
            messages[(session_id, offset)] = str((data or {}).get("message", ""))
    unhandled_list = [
        {**row, "message": messages.get((row["session_id"], row["trigger_offset"]), "")}
        for row in unhandled_rows
    ]

    snapshot = agent_snapshot(agent_id)
    guideline_names = {
        g.id: f"When {g.condition}" + (f", then {g.action}" if g.action else "")
        for g in snapshot.guidelines
    }
    match_counts = dict(
        GuidelineMatch.objects.filter(agent_id=agent_id, day__range=(period.start, period.end))
        .values("guideline_id")
        .annotate(total=Count("guideline_id"))
        .values_list("guideline_id", "total")
    )
    most_matched = sorted(
        ((guideline_id, total) for guideline_id, total in match_counts.items()),
        key=lambda item: (-item[1], item[0]),
    )[:MOST_MATCHED_LISTED]
    never_matched = [
        {"id": guideline_id, "name": name}
        for guideline_id, name in guideline_names.items()
        if guideline_id not in match_counts
    ]

    progress = JourneyProgress.objects.filter(
        agent_id=agent_id, started_at__gte=start, started_at__lt=end
    )
    journey_rows = progress.values("journey_id").annotate(
        started=Count("id"), completed=Count("id", filter=Q(is_completed=True))
    )
    leaving_rows = (
        progress.filter(is_completed=False)
        .values("journey_id", "last_state_id")
        .annotate(total=Count("id"))
        .order_by("journey_id", "-total")
    )
    journeys = {j.id: j for j in snapshot.journeys}
    state_names = {
        state.id: state.action or ", ".join(state.tool_ids) or state.id
        for journey in snapshot.journeys
        for state in journey.states
    }
    leaving: dict[str, list[dict[str, Any]]] = {}
    for row in leaving_rows:
        leaving.setdefault(row["journey_id"], []).append(
            {
                "state": state_names.get(row["last_state_id"], row["last_state_id"] or "(start)"),
                "total": row["total"],
            }
        )
    journey_stats = [
        {
            "id": row["journey_id"],
            "title": journeys[row["journey_id"]].title
            if row["journey_id"] in journeys
            else row["journey_id"],
            "started": row["started"],
            "completed": row["completed"],
            "abandoned": row["started"] - row["completed"],
            "leaving": leaving.get(row["journey_id"], []),
        }
        for row in journey_rows
    ]

    models_used = [row["model"] for row in usage_rows]
    prices = {row.model: row for row in ModelPrice.objects.filter(model__in=models_used)}
    cost = Decimal(0)
    for row in usage_rows:
        price = prices.get(row["model"])
        if price is not None:
            cost += (
                Decimal(row["prompt"] or 0) * price.prompt_per_1k
                + Decimal(row["completion"] or 0) * price.completion_per_1k
            ) / 1000
    calls = sum(row["calls"] or 0 for row in usage_rows)
    prompt = sum(row["prompt"] or 0 for row in usage_rows)
    completion = sum(row["completion"] or 0 for row in usage_rows)
    conversations = totals["conversations"]
    per_conversation = max(conversations, 1)

    buckets = list(
        facts.filter(latency_bucket__isnull=False)
        .values("latency_bucket")
        .annotate(total=Count("latency_bucket"))
        .order_by("latency_bucket")
        .values_list("latency_bucket", "total")
    )
    p50, p95 = _percentiles(buckets, (0.50, 0.95))
    return {
        "period": period,
        "per_day": [(day, per_day.get(day, 0)) for day in period.days()],
        "conversations": conversations,
        "handed_off": handed_off,
        "resolved": conversations - handed_off,
        "unhandled_count": unhandled_count,
        "unhandled": unhandled_list,
        "most_matched": [
            {"id": gid, "name": guideline_names.get(gid, gid), "total": total}
            for gid, total in most_matched
        ],
        "never_matched": never_matched,
        "journeys": journey_stats,
        "llm": {
            "turns": sum(row["turns"] for row in usage_rows),
            "conversations": conversations,
            "calls_per_conversation": calls / per_conversation,
            "tokens_per_conversation": (prompt + completion) / per_conversation,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "cost": cost,
            "cost_per_conversation": cost / per_conversation,
            "models": usage_rows,
            "unpriced": sorted(r["model"] for r in usage_rows if r["model"] not in prices),
        },
        "latency": {"p50": p50, "p95": p95, "count": sum(total for _, total in buckets)},
    }
