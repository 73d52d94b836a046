"""Freshness rules of context variables: five-field cron expressions, as Parlant uses them.

A tool-backed value is stale when a cron tick has passed since it was last written, so the
expression `0 * * * *` refreshes it at most once an hour.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("weekday", 0, 7))
# Backward search bound: a valid expression matches at least once in any five-year window
# (29 February needs up to four years), so the search never walks further than this.
_SEARCH_LIMIT = timedelta(days=5 * 366)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    is_day_restricted: bool
    is_weekday_restricted: bool

    def matches_day(self, moment: datetime) -> bool:
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self.is_day_restricted and self.is_weekday_restricted:
            return day_ok or weekday_ok  # cron's rule: either restriction suffices
        return day_ok and weekday_ok


def _parse_field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"Invalid step {step_text!r} in the {name} field.")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start_text, _, end_text = base.partition("-")
            if not (start_text.isdigit() and end_text.isdigit()):
                raise ValueError(f"Invalid range {base!r} in the {name} field.")
            start, end = int(start_text), int(end_text)
        elif base.isdigit():
            start = int(base)
            end = high if step_text else start
        else:
            raise ValueError(f"Invalid value {base!r} in the {name} field.")
        if not (low <= start <= high and low <= end <= high and start <= end):
            raise ValueError(f"The {name} field must stay within {low}-{high}.")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(expression: str) -> Cron:
    """Parse `minute hour day month weekday`; raises ValueError with a readable message."""
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(
            "Freshness rules are a cron expression with five fields: minute hour day month weekday."
        )
    parsed = [_parse_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(day % 7 for day in parsed[4])
    return Cron(
        minutes=parsed[0],
        hours=parsed[1],
        days=parsed[2],
        months=parsed[3],
        weekdays=weekdays,
        is_day_restricted=parts[2] != "*",
        is_weekday_restricted=parts[4] != "*",
    )


def previous_tick(cron: Cron, now: datetime) -> datetime | None:
    """The latest moment at or before `now` that the expression matches (minute precision)."""
    moment = now.replace(second=0, microsecond=0)
    floor = moment - _SEARCH_LIMIT
    while moment >= floor:
        if moment.month not in cron.months:
            moment = moment.replace(day=1, hour=0, minute=0) - timedelta(minutes=1)
        elif not cron.matches_day(moment):
            moment = moment.replace(hour=0, minute=0) - timedelta(minutes=1)
        elif moment.hour not in cron.hours:
            moment = moment.replace(minute=0) - timedelta(minutes=1)
        elif moment.minute not in cron.minutes:
            moment -= timedelta(minutes=1)
        else:
            return moment
    return None


def is_stale(rules: str, last_modified: datetime | None, now: datetime) -> bool:
    """Whether a tool-backed value must be refreshed: no value yet, no rules (refresh every
    turn), or a tick of the rules since the value was written."""
    if last_modified is None or not rules.strip():
        return True
    try:
        tick = previous_tick(parse_cron(rules), now)
    except ValueError:
        return True
    return tick is not None and tick > last_modified
