"""Load the demo agent, Otto Carmen, with the code-first SDK; running it twice changes nothing."""

from django.core.management.base import BaseCommand
from django.db import transaction

from behavior import sdk, services
from behavior.models import Guideline, Tag, journey_tag_id
from behavior.tools import check_test_drive_availability, get_opening_hours, hand_off_to_human
from engine.canned import NO_MATCH_TAG

DEMO_AGENT_ID = "otto-carmen"
# Guidelines of earlier demo versions that the test-drive journey now covers.
RETIRED_CONDITIONS = ["the customer wants to book a test drive"]
# Journey guidelines of earlier demo versions. "whether they need anything for the test drive"
# also matched "I'd like to book a test drive", so the licence reminder came too early.
RETIRED_JOURNEY_CONDITIONS = [
    "the customer asks whether they need anything for the test drive",
]


def build_demo_agent() -> sdk.Agent:
    """Otto Carmen of Carmen Motors, a car dealership: the agent the quick start talks to."""
    agent = sdk.Agent.get_or_create(
        id=DEMO_AGENT_ID,
        name="Otto Carmen",
        description="A friendly assistant at Carmen Motors, a car dealership.",
    )

    for guideline in Guideline.objects.filter(
        tags__id=agent.tag, condition__in=RETIRED_CONDITIONS
    ).exclude(triggered_journeys__isnull=False):
        services.guideline_delete(guideline_id=guideline.id)

    # Example messages let the zero-LLM mode recognise short or idiomatic messages.
    greeting = agent.create_guideline(
        condition="the customer greets you",
        action="offer a refreshing drink",
        examples=["hello", "hi there", "good morning"],
    )
    agent.create_guideline(
        condition="the customer asks about car prices",
        action="ask which model they are interested in before quoting",
        examples=["how much does a new car cost?"],
    )
    agent.create_guideline(
        condition="the customer asks about financing",
        action="explain that financing is available from 3.9% APR",
        examples=["can I pay in monthly instalments?", "what interest rate do you offer?"],
    )
    complaint = agent.create_guideline(
        condition="the customer is unhappy or complains",
        action="apologize and offer to connect them with a manager",
        criticality="high",
        examples=["this is unacceptable", "I'm really disappointed with your service"],
    )
    complaint.prioritize_over(greeting)
    agent.create_guideline(
        condition="the customer says goodbye",
        action="thank them for visiting Carmen Motors",
        examples=["bye", "see you later"],
    )
    agent.create_guideline(
        condition="the customer asks when the dealership is open",
        action="tell them the opening hours",
        tools=[get_opening_hours],
        examples=["are you open on Saturday?"],
    )
    agent.create_guideline(
        condition="the customer asks to speak with a human",
        action="tell them that a colleague will join the conversation shortly",
        tools=[hand_off_to_human],
        examples=["can I talk to a real person?"],
    )

    test_drive = agent.create_journey(
        title="Schedule a test drive",
        description="Book a test drive: pick a model and a day, check free slots, confirm.",
        conditions=["the customer wants to book a test drive"],
        condition_examples={
            "the customer wants to book a test drive": ["can I try one of your cars?"]
        },
    )
    ask_model = test_drive.initial_state.transition_to(
        chat_state="ask which model they would like to drive: Aurora, Bolt or Cruiser"
    )
    ask_day = ask_model.target.transition_to(chat_state="ask which day suits them")
    check = ask_day.target.transition_to(tool_state=check_test_drive_availability)
    offer = check.target.transition_to(
        chat_state="offer the free slots and ask which one they prefer",
        condition="there are free slots that day",
    )
    check.target.transition_to(state=ask_day.target, condition="no slot is free that day")
    confirm = offer.target.transition_to(
        chat_state="confirm the booking and remind them to bring their driving licence",
        condition="the customer picked a slot",
    )
    confirm.target.transition_to(state=sdk.END_JOURNEY)
    for guideline in Guideline.objects.filter(
        tags__id=journey_tag_id(test_drive.id), condition__in=RETIRED_JOURNEY_CONDITIONS
    ):
        services.guideline_delete(guideline_id=guideline.id)
    test_drive.create_guideline(
        condition="the customer asks what to bring or which documents they need",
        action="tell them to bring a valid driving licence",
    )

    agent.create_term(
        name="APR",
        description="Annual percentage rate: the yearly cost of a car loan.",
        synonyms=["interest rate", "annual percentage rate"],
    )
    agent.create_term(
        name="Test drive",
        description="A 30-minute drive with a salesperson, free of charge, booked in advance.",
        synonyms=["trial drive", "demo drive"],
    )
    agent.create_term(
        name="Trade-in",
        description="Selling your current car to us as part of the payment.",
        synonyms=["part exchange"],
    )

    promotion = agent.create_variable(
        name="current_promotion", description="The promotion running this month."
    )
    promotion.set_global_value("0.9% APR on the Bolt until the end of the month")
    agent.create_variable(
        name="opening_hours",
        description="Opening hours for the coming week.",
        tool=get_opening_hours,
        freshness_rules="0 6 * * *",
    )

    agent.create_canned_response(
        template="Welcome to Carmen Motors, {{std.customer.name}}! Can I offer you a refreshing "
        "drink?",
        signals=["hello", "good morning"],
    )
    agent.create_canned_response(
        template="On that day we have these slots free: {{free_slots}}. Which one suits you?",
        signals=["which slots are free"],
        fields=[
            {
                "name": "free_slots",
                "description": "Free slots from the availability check",
                "examples": ["10:00, 16:00"],
            }
        ],
    )
    agent.create_canned_response(
        template="Thank you for visiting Carmen Motors, {{std.customer.name}}. Drive safely!",
        signals=["goodbye", "bye"],
    )
    # What the agent says without a language model: one approved text per guideline and step.
    for template in (
        "Which model are you interested in? Then I can give you its price.",
        "Financing is available from 3.9% APR.",
        "I'm sorry about that. Would you like me to connect you with a manager?",
        "We are open Monday to Saturday from {{monday_to_saturday}}; on Sundays we are closed.",
        "A colleague will join the conversation shortly.",
        "Which model would you like to drive: Aurora, Bolt or Cruiser?",
        "Which day suits you for the test drive?",
        "Your test drive is booked. Please bring your driving licence.",
        "Please bring a valid driving licence.",
    ):
        agent.create_canned_response(template=template)
    # The engine says a template tagged "no_match" when nothing else fits.
    if not Tag.objects.filter(pk=NO_MATCH_TAG).exists():
        services.tag_create(name=NO_MATCH_TAG, tag_id=NO_MATCH_TAG)
    agent.create_canned_response(
        template="Sorry, I can only help with our cars, test drives and financing. Could you say "
        "that another way?",
        tags=[NO_MATCH_TAG],
    )

    agent.create_capability(
        title="Book test drives",
        description="Check free slots for a model and day, and book a test drive.",
        signals=["can I try the car", "book a test drive"],
    )
    agent.create_capability(
        title="Explain financing",
        description="Explain loans, APR and trade-in options.",
        signals=["how can I pay"],
    )
    return agent


class Command(BaseCommand):
    help = "Create or update the demo agent Otto Carmen and all its behaviour."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        agent = build_demo_agent()
        self.stdout.write(f"Demo agent {agent.row.name} ({agent.id}) is ready.")
