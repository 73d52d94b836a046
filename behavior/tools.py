"""Tools of the demo dealership, Carmen Motors. Gathered at start-up like any app's tools.py."""

from datetime import date
from typing import Annotated, Literal

from engine.tools import ToolContext, ToolResult, tool

DEMO_MODELS = ("Aurora", "Bolt", "Cruiser")
_SLOTS = ("10:00", "13:00", "16:00")


@tool
def check_test_drive_availability(
    context: ToolContext,
    car_model: Annotated[Literal["Aurora", "Bolt", "Cruiser"], "The model to drive"],
    day: Annotated[str, "The day the customer wants, as YYYY-MM-DD"],
) -> ToolResult:
    """Check which test drive slots are free for a car model on a given day."""
    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        return ToolResult(data={"error": f"{day!r} is not a date like 2026-05-04."})
    if wanted.weekday() == 6:
        return ToolResult(
            data={"car_model": car_model, "day": day, "free_slots": []},
            canned_response_fields={"free_slots": "none (closed on Sundays)"},
        )
    # Deterministic stand-in for a booking system: one slot taken per model and weekday.
    taken = _SLOTS[(wanted.weekday() + DEMO_MODELS.index(car_model)) % len(_SLOTS)]
    free = [slot for slot in _SLOTS if slot != taken]
    return ToolResult(
        data={"car_model": car_model, "day": day, "free_slots": free},
        canned_response_fields={"free_slots": ", ".join(free)},
    )


@tool
def get_opening_hours(context: ToolContext) -> ToolResult:
    """Tell the dealership's opening hours for the coming week."""
    return ToolResult(
        data={"monday_to_saturday": "09:00-18:00", "sunday": "closed"},
        canned_response_fields={"monday_to_saturday": "09:00 to 18:00"},
    )


@tool
def hand_off_to_human(context: ToolContext) -> ToolResult:
    """Ask a human colleague to take over the conversation; the agent stops answering."""
    return ToolResult(
        data="A colleague has been asked to join the conversation.",
        control={"mode": "manual"},
    )
