"""How well the local provider decides, on cases nothing in it was fitted to.

The decision's constants (engine/nlp/local/decision.py) are fitted on the public intent data's
`train` rows (bench/calibrate_local_decision.py); these hand-written cases, which once chose
the thresholds of a lexical matcher, now only judge. They span banking, retail, telecom, travel,
healthcare, SaaS support and a car dealership, with hard negatives (a question about X against a
request to do X, negations, opposite intents) and multi-turn conversations. All conditions
compete in one agent, as one large agent's would: a message raises what it clearly best
supports. Only the latest customer message is judged (the engine carries an ongoing action on
separately), so conversations whose condition rests on earlier messages are reported apart.
"""

from __future__ import annotations

from engine.nlp.local.decision import condition_scores, raised

# A message is a customer message, or (AGENT, text) for what the agent said in between.
AGENT = "agent"

# A little below what the local provider reaches on the 240 single-message cases, zero-shot
# (precision 0.871, recall 0.579), so a change that costs accuracy shows; measured, not fitted.
# The recall is what a small embedding model gets without example messages; authors who add a
# few examples per guideline get more (see bench/calibrate_local_decision.py).
PRECISION_FLOOR = 0.85
RECALL_FLOOR = 0.55

CASES = [
    ("the customer greets you", ["Hi there!"], True),
    ("the customer greets you", ["hello"], True),
    ("the customer greets you", ["Good morning"], True),
    ("the customer greets you", ["Where is my parcel?"], False),
    ("the customer greets you", ["My card was stolen this morning"], False),
    ("the customer greets the agent", ["Hi, I would like to apply for a personal loan."], True),
    (
        "the customer asks about the APR or interest rate of a loan",
        ["What APR would I get for 36 months?"],
        True,
    ),
    (
        "the customer asks about the APR or interest rate of a loan",
        ["what's the interest rate on loans?"],
        True,
    ),
    (
        "the customer asks about the APR or interest rate of a loan",
        ["Hi, I would like to apply for a personal loan."],
        False,
    ),
    (
        "the customer asks about the APR or interest rate of a loan",
        ["I need a loan amount of 15000 dollars."],
        False,
    ),
    (
        "the customer asks about their checking account balance",
        ["Also, can you check my checking account balance?"],
        True,
    ),
    (
        "the customer asks about their checking account balance",
        ["how much money is in my checking account"],
        True,
    ),
    (
        "the customer asks about their checking account balance",
        ["I want to open a savings account"],
        False,
    ),
    ("the customer reports a lost or stolen debit card", ["I lost my debit card"], True),
    ("the customer reports a lost or stolen debit card", ["someone stole my card!"], True),
    (
        "the customer reports a lost or stolen debit card",
        ["what are the fees on my debit card abroad?"],
        False,
    ),
    ("the customer wants to open a savings account", ["I'd like to open a savings account"], True),
    (
        "the customer wants to open a savings account",
        ["can you check my checking account balance?"],
        False,
    ),
    ("the customer asks about overdraft fees", ["what do you charge when I overdraw?"], True),
    ("the customer asks about overdraft fees", ["What are your overdraft fees?"], True),
    ("the customer asks about overdraft fees", ["what are the foreign transaction fees?"], False),
    (
        "the customer wants to dispute a card transaction",
        ["I don't recognize a charge on my card, I want to dispute it"],
        True,
    ),
    ("the customer wants to dispute a card transaction", ["I lost my card"], False),
    ("the customer asks about branch opening hours", ["When does the branch open?"], True),
    ("the customer asks about branch opening hours", ["what are your hours on Saturday?"], True),
    ("the customer asks about branch opening hours", ["I want to open a savings account"], False),
    (
        "the customer is upset or frustrated",
        ["This is ridiculous, I've been waiting forever!"],
        True,
    ),
    ("the customer is upset or frustrated", ["I'm really frustrated with your service"], True),
    ("the customer is upset or frustrated", ["Thanks, that helps a lot"], False),
    ("the customer asks about mortgage refinancing", ["Can I refinance my mortgage?"], True),
    (
        "the customer asks about mortgage refinancing",
        ["I need a loan amount of 15000 dollars."],
        False,
    ),
    (
        "the customer asks to update their mailing address",
        ["I moved, how do I change my address?"],
        True,
    ),
    ("the customer asks about wire transfer limits", ["how much can I wire per day?"], True),
    ("the customer asks about wire transfer limits", ["What are my credit card limits?"], False),
    (
        "the customer mentions employment or income details",
        ["I'll take the 36 month term. My employment is full time, salary 85000 a year."],
        True,
    ),
    ("the customer mentions employment or income details", ["My income is 5000 a month"], True),
    (
        "the customer mentions employment or income details",
        ["What APR would I get for 36 months?"],
        False,
    ),
    (
        "the customer asks how long a loan application takes",
        ["How long does the loan application take?"],
        True,
    ),
    (
        "the customer asks how long a loan application takes",
        ["Yes, I confirm. Please submit my loan application."],
        False,
    ),
    (
        "the customer asks how long a loan application takes",
        ["Hi, I would like to apply for a personal loan."],
        False,
    ),
    (
        "the customer asks about the Meridian Rewards program",
        ["how do my rewards points work?"],
        True,
    ),
    (
        "the customer wants to set up direct deposit",
        ["How do I get my paycheck deposited directly?"],
        True,
    ),
    ("the customer wants to set up direct deposit", ["I want to set up direct deposit"], True),
    ("the customer asks to speak with a human", ["Can I talk to a real person please?"], True),
    ("the customer asks to speak with a human", ["I want a human"], True),
    ("the customer asks to speak with a human", ["what's my balance"], False),
    ("the customer asks about credit card limits", ["What are my credit card limits?"], True),
    ("the customer asks about credit card limits", ["how much can I wire per day?"], False),
    (
        "the customer wants to submit an application",
        ["Yes, I confirm. Please submit my loan application."],
        True,
    ),
    ("the customer wants to submit an application", ["What APR would I get for 36 months?"], False),
    (
        "the customer asks about foreign transaction fees",
        ["do you charge fees for purchases abroad?"],
        True,
    ),
    ("the customer asks about foreign transaction fees", ["What are your overdraft fees?"], False),
    ("the customer wants a refund", ["I want my money back"], True),
    ("the customer wants a refund", ["can I get a refund for this order?"], True),
    ("the customer wants a refund", ["where is my order"], False),
    ("the customer asks about shipping times", ["how long does delivery take?"], True),
    ("the customer asks about shipping times", ["when will my package ship?"], True),
    ("the customer asks about shipping times", ["I want my money back"], False),
    ("the customer wants to cancel their subscription", ["please cancel my subscription"], True),
    ("the customer wants to cancel their subscription", ["how do I upgrade my plan"], False),
    ("the customer is hungry", ["I'm starving, can I get something to eat?"], True),
    ("the customer is hungry", ["Hi there!"], False),
    # ongoing topic: earlier message still relevant
    (
        "the customer asks about mortgage refinancing",
        ["Can I refinance my mortgage?", "what would the rate be?"],
        True,
    ),
    ("the customer greets you", ["Hi there!", "what's the weather today?"], False),
    # --- paraphrases, hard negatives and multi-turn cases across domains
    # --- banking: paraphrases and synonyms
    ("the customer reports a lost or stolen card", ["I misplaced my card"], True),
    ("the customer reports a lost or stolen card", ["I can't find my credit card anywhere"], True),
    (
        "the customer reports a lost or stolen card",
        ["my wallet got stolen with all my cards"],
        True,
    ),
    ("the customer reports a lost or stolen card", ["how do I activate my new card?"], False),
    ("the customer reports a lost or stolen card", ["what is the limit on my card?"], False),
    ("the customer asks about their account balance", ["how much money do I have?"], True),
    ("the customer asks about their account balance", ["what's my balance right now"], True),
    ("the customer asks about their account balance", ["how much is left in my account?"], True),
    ("the customer asks about their account balance", ["I want to close my account"], False),
    (
        "the customer asks about their account balance",
        ["I want to transfer 200 dollars to my sister"],
        False,
    ),
    ("the customer asks to speak with a human", ["can I talk to a person?"], True),
    ("the customer asks to speak with a human", ["connect me to an agent please"], True),
    ("the customer asks to speak with a human", ["is there someone I can call?"], True),
    ("the customer asks to speak with a human", ["let me speak to your manager"], True),
    ("the customer asks to speak with a human", ["are you a bot?"], False),
    ("the customer asks to speak with a human", ["what's the phone number for lost cards?"], False),
    ("the customer is upset or frustrated", ["this is taking forever, useless"], True),
    ("the customer is upset or frustrated", ["I'm so fed up with this app"], True),
    (
        "the customer is upset or frustrated",
        ["you people never fix anything, this is a joke"],
        True,
    ),
    (
        "the customer is upset or frustrated",
        ["why is this so complicated?? I've tried three times"],
        True,
    ),
    ("the customer is upset or frustrated", ["great, that worked perfectly"], False),
    ("the customer is upset or frustrated", ["what time do you close today?"], False),
    (
        "the customer wants to submit an application",
        ["How long does a loan application take?"],
        False,
    ),
    (
        "the customer wants to submit an application",
        ["what documents does the application need?"],
        False,
    ),
    ("the customer wants to submit an application", ["go ahead and send in my application"], True),
    ("the customer wants to apply for a loan", ["I'd like to apply for a car loan"], True),
    ("the customer wants to apply for a loan", ["can I borrow 10000 dollars?"], True),
    ("the customer wants to apply for a loan", ["I don't want a loan, just my balance"], False),
    ("the customer wants to apply for a loan", ["what's the interest rate on your loans?"], False),
    (
        "the customer asks about their account balance",
        ["I don't want a loan, just my balance"],
        True,
    ),
    ("the customer asks about ATM withdrawal limits", ["not the ATM limit, the card limit"], False),
    (
        "the customer asks about ATM withdrawal limits",
        ["how much cash can I take out at an ATM?"],
        True,
    ),
    ("the customer asks about credit card limits", ["not the ATM limit, the card limit"], True),
    (
        "the customer asks about credit card limits",
        ["can you raise the limit on my credit card?"],
        True,
    ),
    ("the customer wants to close their account", ["I want to close my account"], True),
    ("the customer wants to close their account", ["please shut down my savings account"], True),
    ("the customer wants to close their account", ["what time does the branch close?"], False),
    ("the customer wants to transfer money", ["send 50 dollars to my brother"], True),
    (
        "the customer wants to transfer money",
        ["I need to move money from savings to checking"],
        True,
    ),
    ("the customer wants to transfer money", ["how much money do I have?"], False),
    ("the customer asks about mortgage rates", ["what are your current mortgage rates?"], True),
    (
        "the customer asks about mortgage rates",
        ["I paid my mortgage late, is there a penalty?"],
        False,
    ),
    # --- greetings, thanks, goodbyes
    ("the customer greets you", ["hey hey"], True),
    ("the customer greets you", ["Good evening!"], True),
    ("the customer greets you", ["hiya, anyone there?"], True),
    ("the customer greets you", ["Thanks, bye!"], False),
    ("the customer thanks the agent", ["thank you so much!"], True),
    ("the customer thanks the agent", ["thx, that's great"], True),
    ("the customer thanks the agent", ["much appreciated"], True),
    ("the customer thanks the agent", ["I'm grateful for your help"], True),
    ("the customer thanks the agent", ["hello, I need help with my order"], False),
    ("the customer thanks the agent", ["no thanks, I don't need insurance"], False),
    ("the customer says goodbye", ["ok bye"], True),
    ("the customer says goodbye", ["see you later"], True),
    ("the customer says goodbye", ["that's all, have a nice day"], True),
    ("the customer says goodbye", ["talk to you soon, take care"], True),
    ("the customer says goodbye", ["hi, I have a question"], False),
    ("the customer says goodbye", ["how do I say goodbye to my old plan and switch?"], False),
    # --- retail
    ("the customer wants to return an item", ["I want to send these shoes back"], True),
    ("the customer wants to return an item", ["how do I return a jacket that doesn't fit?"], True),
    ("the customer wants to return an item", ["I'd like to buy another pair of these"], False),
    ("the customer asks where their order is", ["where is my package?"], True),
    (
        "the customer asks where their order is",
        ["my order hasn't arrived yet, can you track it?"],
        True,
    ),
    ("the customer asks where their order is", ["I want to place an order for two lamps"], False),
    ("the customer wants a refund", ["can I get reimbursed for the broken vase?"], True),
    ("the customer wants a refund", ["how long do refunds usually take to process?"], False),
    (
        "the customer asks how long a refund takes",
        ["how long do refunds usually take to process?"],
        True,
    ),
    ("the customer asks how long a refund takes", ["I want a refund"], False),
    ("the customer reports a damaged item", ["the mug arrived broken"], True),
    (
        "the customer reports a damaged item",
        ["the box was crushed and the screen is cracked"],
        True,
    ),
    ("the customer reports a damaged item", ["do you sell phone screen protectors?"], False),
    ("the customer asks about product availability", ["is this sofa in stock?"], True),
    (
        "the customer asks about product availability",
        ["do you have the blue one available in size M?"],
        True,
    ),
    (
        "the customer asks about product availability",
        ["my sofa arrived with a torn cushion"],
        False,
    ),
    ("the customer asks for a discount or promo code", ["do you have any coupon codes?"], True),
    ("the customer asks for a discount or promo code", ["is there a sale going on?"], True),
    ("the customer asks for a discount or promo code", ["my order total is wrong"], False),
    (
        "the customer wants to change their delivery address",
        ["can you ship it to my office instead?"],
        True,
    ),
    (
        "the customer wants to change their delivery address",
        ["I need to update the shipping address on my order"],
        True,
    ),
    ("the customer wants to change their delivery address", ["what's your office address?"], False),
    # --- telecom
    ("the customer reports no internet connection", ["my internet is down"], True),
    (
        "the customer reports no internet connection",
        ["the wifi keeps dropping and nothing loads"],
        True,
    ),
    (
        "the customer reports no internet connection",
        ["how fast is your fiber internet plan?"],
        False,
    ),
    ("the customer asks about data plan options", ["what data plans do you offer?"], True),
    ("the customer asks about data plan options", ["is there a plan with more gigabytes?"], True),
    (
        "the customer asks about data plan options",
        ["I ran out of data and my internet is down"],
        False,
    ),
    ("the customer wants to upgrade their phone", ["I want a new iPhone with my contract"], True),
    ("the customer wants to upgrade their phone", ["am I eligible for a phone upgrade?"], True),
    ("the customer wants to upgrade their phone", ["my phone screen is cracked"], False),
    (
        "the customer asks about roaming charges",
        ["will I pay extra using my phone in Spain?"],
        True,
    ),
    ("the customer asks about roaming charges", ["how much is roaming in Canada?"], True),
    ("the customer asks about roaming charges", ["I want to cancel my plan"], False),
    (
        "the customer disputes a charge on their bill",
        ["my bill is way higher than usual, I was overcharged"],
        True,
    ),
    (
        "the customer disputes a charge on their bill",
        ["there's a charge I don't recognize on my bill"],
        True,
    ),
    ("the customer disputes a charge on their bill", ["when is my bill due?"], False),
    (
        "the customer wants to cancel their subscription",
        ["I don't want to cancel, I just want to pause it"],
        False,
    ),
    ("the customer wants to cancel their subscription", ["stop my membership, I'm done"], True),
    ("the customer wants to cancel their subscription", ["how do I end my plan?"], True),
    # --- travel
    ("the customer wants to book a flight", ["I need a flight to Boston next Friday"], True),
    ("the customer wants to book a flight", ["book me on the earliest plane to Denver"], True),
    ("the customer wants to book a flight", ["my flight got cancelled, what now?"], False),
    ("the customer wants to change their flight", ["can I move my flight to Sunday?"], True),
    (
        "the customer wants to change their flight",
        ["I need to reschedule my trip to a later date"],
        True,
    ),
    ("the customer wants to change their flight", ["how much is a flight to Rome?"], False),
    ("the customer asks about baggage allowance", ["how many bags can I bring?"], True),
    ("the customer asks about baggage allowance", ["is a carry-on suitcase included?"], True),
    ("the customer asks about baggage allowance", ["my luggage was lost"], False),
    ("the customer reports lost luggage", ["my luggage was lost"], True),
    ("the customer reports lost luggage", ["my suitcase never showed up at the carousel"], True),
    ("the customer reports lost luggage", ["how many bags can I bring?"], False),
    ("the customer asks about hotel check-in time", ["what time can we check in?"], True),
    ("the customer asks about hotel check-in time", ["when can I get into my room?"], True),
    (
        "the customer asks about hotel check-in time",
        ["I want to check my booking reference"],
        False,
    ),
    ("the customer wants to cancel their reservation", ["please cancel my hotel booking"], True),
    ("the customer wants to cancel their reservation", ["what's your cancellation policy?"], False),
    ("the customer asks about the cancellation policy", ["what's your cancellation policy?"], True),
    (
        "the customer asks about the cancellation policy",
        ["if I cancel, do I get my money back?"],
        True,
    ),
    ("the customer asks about the cancellation policy", ["cancel my booking now"], False),
    # --- healthcare appointments
    ("the customer wants to book an appointment", ["I'd like to see a doctor next week"], True),
    ("the customer wants to book an appointment", ["can I schedule a checkup?"], True),
    ("the customer wants to book an appointment", ["I need to cancel my appointment"], False),
    ("the customer wants to cancel an appointment", ["I need to cancel my appointment"], True),
    (
        "the customer wants to cancel an appointment",
        ["I can't make it to my visit on Tuesday, please cancel"],
        True,
    ),
    ("the customer wants to cancel an appointment", ["book me an appointment with Dr. Lee"], False),
    (
        "the customer wants to reschedule an appointment",
        ["can we move my appointment to Thursday?"],
        True,
    ),
    (
        "the customer wants to reschedule an appointment",
        ["I need a different time for my visit"],
        True,
    ),
    (
        "the customer wants to reschedule an appointment",
        ["what should I bring to my appointment?"],
        False,
    ),
    (
        "the customer describes a medical emergency",
        ["I have severe chest pain and can't breathe"],
        True,
    ),
    (
        "the customer describes a medical emergency",
        ["my father collapsed and is unconscious"],
        True,
    ),
    ("the customer describes a medical emergency", ["can I get a flu shot on Saturday?"], False),
    (
        "the customer asks about prescription refills",
        ["I need a refill of my blood pressure medication"],
        True,
    ),
    ("the customer asks about prescription refills", ["can you renew my prescription?"], True),
    ("the customer asks about prescription refills", ["what are the clinic opening hours?"], False),
    ("the customer asks whether their insurance is accepted", ["do you take Blue Cross?"], True),
    (
        "the customer asks whether their insurance is accepted",
        ["is my insurance accepted at your clinic?"],
        True,
    ),
    (
        "the customer asks whether their insurance is accepted",
        ["I want to book an appointment"],
        False,
    ),
    # --- SaaS support
    ("the customer cannot log in", ["I can't sign in to my account"], True),
    ("the customer cannot log in", ["login keeps failing with invalid password"], True),
    ("the customer cannot log in", ["how do I log out on all devices?"], False),
    ("the customer wants to reset their password", ["I forgot my password"], True),
    ("the customer wants to reset their password", ["how do I change my password?"], True),
    ("the customer wants to reset their password", ["what's your privacy policy?"], False),
    ("the customer reports a bug", ["the export button doesn't work, it throws an error"], True),
    ("the customer reports a bug", ["the app crashes every time I open settings"], True),
    ("the customer reports a bug", ["how do I export my data to CSV?"], False),
    ("the customer asks about pricing plans", ["how much does the pro plan cost?"], True),
    (
        "the customer asks about pricing plans",
        ["what's the difference between basic and premium pricing?"],
        True,
    ),
    ("the customer asks about pricing plans", ["my plan renewal failed"], False),
    ("the customer wants to upgrade their plan", ["I want to move to the enterprise tier"], True),
    ("the customer wants to upgrade their plan", ["how do I upgrade my plan"], True),
    ("the customer wants to upgrade their plan", ["please downgrade me to the free plan"], False),
    (
        "the customer asks about API rate limits",
        ["how many API requests can I make per minute?"],
        True,
    ),
    (
        "the customer asks about API rate limits",
        ["I keep getting 429 too many requests from the API"],
        True,
    ),
    ("the customer asks about API rate limits", ["where is the API documentation?"], False),
    (
        "the customer wants to add a team member",
        ["how do I invite a colleague to my workspace?"],
        True,
    ),
    ("the customer wants to add a team member", ["add a new user to our team"], True),
    ("the customer wants to add a team member", ["remove John from the workspace"], False),
    ("the customer asks about data export", ["how do I export my data to CSV?"], True),
    ("the customer asks about data export", ["can I download all my reports?"], True),
    (
        "the customer asks about data export",
        ["I want to import contacts from a spreadsheet"],
        False,
    ),
    # --- car dealership
    (
        "the customer wants to schedule a test drive",
        ["can I test drive the new RAV4 on Saturday?"],
        True,
    ),
    (
        "the customer wants to schedule a test drive",
        ["I'd like to take the sedan for a drive"],
        True,
    ),
    ("the customer wants to schedule a test drive", ["when is my car's next service due?"], False),
    (
        "the customer asks about trade-in value",
        ["how much would you give me for my old Civic?"],
        True,
    ),
    ("the customer asks about trade-in value", ["can I trade in my current car?"], True),
    ("the customer asks about trade-in value", ["how much is the new Civic?"], False),
    ("the customer asks about financing options", ["do you offer car financing?"], True),
    ("the customer asks about financing options", ["can I pay monthly for the truck?"], True),
    ("the customer asks about financing options", ["I want to pay in cash"], False),
    ("the customer wants to book a service appointment", ["my car needs an oil change"], True),
    (
        "the customer wants to book a service appointment",
        ["I need to bring the car in for maintenance"],
        True,
    ),
    (
        "the customer wants to book a service appointment",
        ["can I test drive the new RAV4 on Saturday?"],
        False,
    ),
    ("the customer asks about vehicle price", ["what's the price of the 2024 Camry?"], True),
    ("the customer asks about vehicle price", ["how much is the SUV?"], True),
    ("the customer asks about vehicle price", ["my car makes a strange noise"], False),
    # --- conversation state, multi-turn
    (
        "the customer has already provided their email",
        [
            (AGENT, "What email should I use for the receipt?"),
            "it's jane.doe@example.com",
            "and when will it arrive?",
        ],
        True,
    ),
    ("the customer has already provided their email", ["when will my order arrive?"], False),
    (
        "the customer has provided their order number",
        [(AGENT, "Could you give me your order number?"), "sure, it's 48213"],
        True,
    ),
    ("the customer has provided their order number", ["where is my order?"], False),
    (
        "the customer has already provided their phone number",
        ["my number is 555 123 4567", "please call me tomorrow"],
        True,
    ),
    ("the customer has already provided their phone number", ["can you call me?"], False),
    (
        "the customer wants to book a flight",
        ["I need to fly to Chicago", "next Tuesday, in the morning"],
        True,
    ),
    (
        "the customer wants to book an appointment",
        ["I want to see a dermatologist", "is Friday at 10am free?"],
        True,
    ),
    (
        "the customer wants to return an item",
        ["I want to return these shoes", "they're the wrong size"],
        True,
    ),
    (
        "the customer wants to return an item",
        ["I want to return these shoes", "actually never mind, what are your store hours?"],
        False,
    ),
    (
        "the customer reports no internet connection",
        ["my internet is down since this morning", "I already restarted the router"],
        True,
    ),
    (
        "the customer greets you",
        ["hello", (AGENT, "Hi! How can I help?"), "I want to check my balance"],
        False,
    ),
    ("the customer wants to book a flight", ["I need to fly to Chicago", "thanks, bye"], False),
    (
        "the customer wants to return an item",
        ["I want to return these shoes", "what's the weather like today?"],
        False,
    ),
    (
        "the customer has already provided their email",
        ["hi", "my email is sam@example.org", "ok", "what are your hours?"],
        True,
    ),
    (
        "the customer thanks the agent",
        ["thanks!", (AGENT, "You're welcome!"), "one more thing, where's my parcel?"],
        False,
    ),
    (
        "the customer agrees to the offer",
        [(AGENT, "Would you like me to upgrade you to the premium plan?"), "yes please"],
        True,
    ),
    (
        "the customer declines the offer",
        [(AGENT, "Would you like to add travel insurance?"), "no thanks"],
        True,
    ),
    (
        "the customer declines the offer",
        [(AGENT, "Would you like to add travel insurance?"), "yes, add it"],
        False,
    ),
    (
        "the customer agrees to the offer",
        [(AGENT, "Would you like to add travel insurance?"), "no, I'm fine"],
        False,
    ),
]


def _latest_customer_message(messages: list) -> str:
    return next(m for m in reversed(messages) if not isinstance(m, tuple))


def _decisions(*, single_message: bool) -> list[tuple[str, str, bool, bool]]:
    conditions = sorted({condition for condition, _, _ in CASES})
    ids = {condition: f"g{n}" for n, condition in enumerate(conditions)}
    items = [{"id": ids[c], "condition": c, "action": "act"} for c in conditions]
    results = []
    for condition, messages, expected in CASES:
        if (len(messages) == 1) != single_message:
            continue
        latest = _latest_customer_message(messages)
        payload = {"latest_customer_message": latest, "guidelines": items}
        decided = ids[condition] in raised(condition_scores(payload))
        results.append((condition, latest, expected, decided))
    return results


def _figures(results: list[tuple[str, str, bool, bool]]) -> tuple[float, float]:
    true_positive = sum(1 for *_, expected, decided in results if expected and decided)
    false_positive = sum(1 for *_, expected, decided in results if not expected and decided)
    false_negative = sum(1 for *_, expected, decided in results if expected and not decided)
    precision = true_positive / max(1, true_positive + false_positive)
    recall = true_positive / max(1, true_positive + false_negative)
    return precision, recall


def _misses(results: list[tuple[str, str, bool, bool]]) -> str:
    return "\n".join(
        f"{'missed' if expected else 'false match'}: {condition!r} <- {message!r}"
        for condition, message, expected, decided in results
        if decided != expected
    )


def test_single_messages_keep_precision_and_recall() -> None:
    results = _decisions(single_message=True)
    precision, recall = _figures(results)
    report = f"precision {precision:.3f}, recall {recall:.3f} over {len(results)} cases\n"
    assert len(results) >= 200
    assert precision >= PRECISION_FLOOR, report + _misses(results)
    assert recall >= RECALL_FLOOR, report + _misses(results)
