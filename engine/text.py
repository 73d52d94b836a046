"""Deterministic text features shared by local matching, argument extraction and canned selection.

No model and no network: tokens are lower-cased, stemmed with a small suffix stripper, and mapped
to concepts through a synonym lexicon so that "hi" and "greets" meet on the same feature.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from functools import lru_cache

WORD_PATTERN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "agent",
        "agents",
        "all",
        "also",
        "am",
        "an",
        "and",
        "another",
        "any",
        "anything",
        "are",
        "as",
        "ask",
        "asked",
        "asking",
        "asks",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "current",
        "currently",
        "customer",
        "customers",
        "d",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "every",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "give",
        "gives",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "i'm",
        "if",
        "im",
        "in",
        "inquire",
        "inquires",
        "inquiry",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "itself",
        "just",
        "know",
        "knows",
        "let",
        "lets",
        "like",
        "likes",
        "ll",
        "m",
        "make",
        "makes",
        "may",
        "me",
        "mention",
        "mentioned",
        "mentions",
        "might",
        "mine",
        "more",
        "most",
        "must",
        "my",
        "myself",
        "need",
        "needed",
        "needs",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "one",
        "only",
        "onto",
        "or",
        "other",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "please",
        "provide",
        "provided",
        "provides",
        "re",
        "regarding",
        "related",
        "s",
        "said",
        "same",
        "say",
        "says",
        "shall",
        "she",
        "should",
        "so",
        "some",
        "something",
        "such",
        "t",
        "take",
        "takes",
        "tell",
        "tells",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "told",
        "too",
        "two",
        "under",
        "until",
        "up",
        "us",
        "user",
        "users",
        "ve",
        "very",
        "want",
        "wanted",
        "wanting",
        "wants",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "without",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)

# Words that carry meaning on their own but that the stopword list above would drop, or that a
# condition spells differently from a customer. Each maps to a concept feature ("~greet").
# A word belongs to one concept only; the groups are ordinary customer-service vocabulary, not
# any one agent's, so a paraphrase ("misplaced my card") meets its condition ("lost card").
CONCEPT_LEXICON: Mapping[str, tuple[str, ...]] = {
    "~greet": (
        "hi",
        "hello",
        "hey",
        "hiya",
        "howdy",
        "greet",
        "greeting",
        "greetings",
        "yo",
        "salut",
        "hola",
        "shalom",
        "bonjour",
    ),
    "~farewell": ("bye", "goodbye", "farewell", "cya", "byebye", "ciao"),
    "~thank": ("thank", "thanks", "thx", "ty", "grateful", "appreciate", "appreciated", "cheers"),
    "~upset": (
        "upset",
        "angry",
        "frustrated",
        "frustrating",
        "frustration",
        "annoyed",
        "annoying",
        "furious",
        "mad",
        "unhappy",
        "ridiculous",
        "terrible",
        "awful",
        "horrible",
        "worst",
        "disappointed",
        "disappointing",
        "complain",
        "complaint",
        "outrageous",
        "unacceptable",
        "hate",
        "useless",
        "pathetic",
        "forever",
        "joke",
        "nonsense",
        "rubbish",
        "incompetent",
        "livid",
        "complicated",
        "confusing",
    ),
    "~human": (
        "human",
        "person",
        "representative",
        "operator",
        "banker",
        "staff",
        "manager",
        "supervisor",
    ),
    "~drink": ("drink", "beverage", "thirsty", "water", "juice", "soda", "coffee", "tea"),
    "~food": ("food", "hungry", "starving", "eat", "meal", "snack", "lunch", "dinner", "breakfast"),
    "~abroad": ("foreign", "abroad", "international", "overseas", "roaming"),
    "~ship": ("ship", "shipping", "shipment", "delivery", "deliver", "delivered"),
    "~speak": ("speak", "talk", "chat"),
    "~change": ("change", "update", "modify", "edit", "amend", "reschedule", "postpone"),
    "~price": (
        "price",
        "pricing",
        "cost",
        "costs",
        "fee",
        "fees",
        "charge",
        "charges",
        "expensive",
        "cheap",
    ),
    "~cancel": (
        "cancel",
        "cancelled",
        "canceled",
        "cancelling",
        "cancellation",
        "terminate",
        "unsubscribe",
        "stop",
    ),
    "~submit": ("submit", "submission"),
    "~return": ("return", "returns", "returning"),
    "~refund": ("refund", "reimburse", "reimbursed", "reimbursement", "moneyback"),
    "~buy": ("buy", "purchase"),
    "~help": ("help", "assist", "assistance", "support"),
    "~lost": (
        "lost",
        "lose",
        "stolen",
        "missing",
        "theft",
        "steal",
        "stole",
        "misplaced",
        "misplace",
    ),
    "~agree": ("yes", "yeah", "yep", "sure", "ok", "okay", "confirm", "agree", "accept", "correct"),
    "~decline": ("no", "nope", "decline", "refuse", "nah"),
    "~balance": ("balance", "balances"),
    "~damage": (
        "damaged",
        "damage",
        "broken",
        "cracked",
        "crushed",
        "shattered",
        "dented",
        "torn",
        "defective",
        "smashed",
    ),
    "~fail": ("error", "errors", "crash", "crashes", "crashed", "bug", "glitch", "fail", "failing"),
    "~unable": ("cannot", "can't", "cant", "unable", "couldn't"),
    "~discount": ("discount", "promo", "coupon", "voucher", "sale", "promotion"),
    "~stock": ("stock", "available", "availability", "instock"),
    "~internet": ("internet", "wifi", "broadband", "connection", "router", "modem"),
    "~book": ("book", "booking", "reserve", "reservation", "schedule"),
    "~appointment": ("appointment", "visit", "checkup", "consultation"),
    "~flight": ("flight", "fly", "plane", "airline"),
    "~baggage": ("bag", "bags", "baggage", "luggage", "suitcase", "carry"),
    "~emergency": (
        "emergency",
        "unconscious",
        "collapsed",
        "bleeding",
        "overdose",
        "stroke",
        "seizure",
        "breathe",
        "breathing",
    ),
    "~medication": ("medication", "medicine", "meds", "prescription", "drug", "drugs"),
    "~refill": ("refill", "renew", "refills"),
    "~login": ("login", "signin", "logon"),
    "~export": ("export", "download"),
    "~invite": ("invite", "add"),
    "~teammate": ("colleague", "teammate", "coworker", "member", "employee"),
    "~plan": ("plan", "tier"),
    "~vehicle": ("vehicle", "car", "truck", "suv", "sedan", "van"),
    "~maintenance": ("maintenance", "service", "repair", "servicing", "tune"),
    "~finance": ("financing", "finance", "lease", "installment", "installments"),
    "~loan": ("loan", "loans", "borrow", "lend", "lending"),
    "~transfer": ("transfer", "wire", "send"),
    "~close": ("close", "shut"),
    "~email": ("email",),
    "~number": ("number", "digits"),
    "~order": ("order", "package", "parcel"),
    "~offer": ("offer", "offered", "proposal"),
}

# Multi-word expressions of a concept, matched on whole words. A phrase stands in for its words,
# so "log in" is the ~login concept and not the bare word "log" ("log out" is something else).
# Longer phrases are tried first.
CONCEPT_PHRASES: Mapping[str, str] = {
    "good morning": "~greet",
    "good afternoon": "~greet",
    "good evening": "~greet",
    "good day": "~greet",
    "money back": "~refund",
    "see you": "~farewell",
    "see ya": "~farewell",
    "take care": "~farewell",
    "have a nice day": "~farewell",
    "have a good day": "~farewell",
    "have a great day": "~farewell",
    "talk to you later": "~farewell",
    "talk to you soon": "~farewell",
    "that's all": "~farewell",
    "that is all": "~farewell",
    "real person": "~human",
    "live agent": "~human",
    "an agent": "~human",
    "a real agent": "~human",
    "speak to someone": "~human",
    "talk to someone": "~human",
    "thank you": "~thank",
    "no thanks": "~decline",
    "no thank you": "~decline",
    "fed up": "~upset",
    "sick of": "~upset",
    "tired of": "~upset",
    "waste of time": "~upset",
    "can't find": "~lost",
    "cannot find": "~lost",
    "can't locate": "~lost",
    "how much money": "~balance",
    "money do i have": "~balance",
    "how much is left": "~balance",
    "how much do i have": "~balance",
    "how much is": "~price",
    "how much are": "~price",
    "how much does": "~price",
    "how much do": "~price",
    "doesn't work": "~fail",
    "does not work": "~fail",
    "not working": "~fail",
    "isn't working": "~fail",
    "won't work": "~fail",
    "stopped working": "~fail",
    "keeps failing": "~fail",
    "in stock": "~stock",
    "out of stock": "~stock",
    "promo code": "~discount",
    "coupon code": "~discount",
    "log in": "~login",
    "log on": "~login",
    "sign in": "~login",
    "sign on": "~login",
    "wi fi": "~internet",
    "is down": "~fail",
    "keeps dropping": "~fail",
    "see a doctor": "~appointment",
    "see the doctor": "~appointment",
    "see a dentist": "~appointment",
    "see a specialist": "~appointment",
    "see a dermatologist": "~appointment",
    "chest pain": "~emergency",
    "heart attack": "~emergency",
    "can't breathe": "~emergency",
    "oil change": "~maintenance",
    "tune up": "~maintenance",
    "pay monthly": "~finance",
    "monthly payments": "~finance",
    "payment plan": "~finance",
    "team member": "~teammate",
    "send in": "~submit",
    "hand in": "~submit",
    "send back": "~return",
    "send it back": "~return",
    "send them back": "~return",
    "send these back": "~return",
    "different time": "~change",
    "another time": "~change",
    "another day": "~change",
    "later date": "~change",
    "shut down": "~close",
    "would you like": "~offer",
    "would you like me to": "~offer",
    "do you want me to": "~offer",
    "shall i": "~offer",
    "e mail": "~email",
    "end my": "~cancel",
    "customer service": "~help",
    "connect me": "~speak",
    "put me through": "~speak",
    "someone i can": "~human",
    "a person": "~human",
}

# Suffixes tried in order; each keeps a stem of at least the given length.
SUFFIXES: tuple[tuple[str, int], ...] = (
    ("ments", 4),
    ("ment", 4),
    ("ing", 3),
    ("ed", 3),
    ("es", 4),
    ("s", 3),
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Strip one common English suffix and a doubled final consonant ("shopping" → "shop").

    A final "e" goes too, so "refinance" and "refinancing" meet at "refinanc".
    """
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    for suffix, minimum in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= minimum:
            if suffix == "s" and word.endswith("ss"):
                break
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    if len(word) > 4 and word.endswith("e") and not word.endswith("ee"):
        word = word[:-1]
    return word


def _build_concept_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for concept, words in CONCEPT_LEXICON.items():
        for word in words:
            index[word] = concept
            index[stem(word)] = concept
    return index


CONCEPT_INDEX = _build_concept_index()

# Phrases first by length, so "how much money" wins over "how much is" where both could apply.
_PHRASE_PATTERN = re.compile(
    r"(?<!\S)("
    + "|".join(re.escape(phrase) for phrase in sorted(CONCEPT_PHRASES, key=len, reverse=True))
    + r")(?!\S)"
)
# Expressions with a gap: "send these shoes back" is a return, whatever is sent.
CONCEPT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<!\S)send(?:ing)?((?: [a-z0-9']+){1,3}) back(?!\S)"), r"~return\1"),
)
# What a customer says they do *not* mean: "I don't want a loan, just my balance", "not the ATM
# limit, the card limit", "no thanks". The span runs to the next clause boundary or to a word that
# turns back to what they do mean. "not" alone counts only before a determiner, because "not
# working" or "can't log in" is exactly what the customer means.
_NEGATED_SPAN = re.compile(
    r"\b(?:(?:do|does|did|would|will)\s+not|don'?t|doesn'?t|didn'?t|won'?t|wouldn'?t)\s+"
    r"(?:really\s+)?(?:want|need|wish|mean|care)\b(?:\s+(?:to|about|for))?"
    r"|\bnot\s+(?=(?:the|a|an|my|your|about|for|any)\b)"
    r"|\bnever\s?mind\b(?:\s+(?:about|the|my))?"
)
_SPAN_END = re.compile(r"[,.;:!?]|\b(?:just|but|only|instead|rather|i|i'm|i'd|please|actually)\b")


def affirmed(text: str) -> str:
    """`text` without the spans the customer negates, for matching what they do want."""
    lowered = text.lower().replace("\u2019", "'")
    if not _NEGATED_SPAN.search(lowered):
        return text
    kept: list[str] = []
    position = 0
    for match in _NEGATED_SPAN.finditer(lowered):
        if match.start() < position:
            continue
        kept.append(lowered[position : match.start()])
        end = _SPAN_END.search(lowered, match.end())
        position = end.start() if end else len(lowered)
    kept.append(lowered[position:])
    return " ".join(kept)


# Values a customer gives rather than words: an e-mail address, a long number (an order,
# account or phone number; four digits starting 19/20 are more likely a year).
_EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_LONG_NUMBER = re.compile(r"\b(?:\d{5,}|(?!19|20)\d{4})\b")


def words(text: str) -> list[str]:
    return WORD_PATTERN.findall(text.lower().replace("\u2019", "'"))


def content_words(text: str) -> list[str]:
    """Stemmed words that carry meaning (stopwords and one-letter tokens dropped)."""
    return [stem(word) for word in words(text) if len(word) > 1 and word not in STOPWORDS]


def _concept_tokens(tokens: list[str]) -> list[str]:
    """Tokens with concept phrases replaced by their concept ("log in" → "~login")."""
    joined = " ".join(tokens)
    for pattern, concept in CONCEPT_PATTERNS:
        joined = pattern.sub(concept, joined)
    joined = _PHRASE_PATTERN.sub(lambda match: CONCEPT_PHRASES[match.group(1)], joined)
    return joined.split()


def _token_feature(token: str, mapping: Mapping[str, str]) -> str | None:
    if token.startswith("~"):
        return token
    stemmed = stem(token)
    concept = CONCEPT_INDEX.get(token) or CONCEPT_INDEX.get(stemmed)
    if concept:
        return concept
    if len(token) > 1 and token not in STOPWORDS:
        return mapping.get(token) or mapping.get(stemmed) or stemmed
    return None


def features(text: str, synonyms: tuple[tuple[str, str], ...] = ()) -> frozenset[str]:
    """Content stems and concept features of `text`, with glossary synonyms made canonical.

    Concept words are looked up before the stopword filter, because "hi" or "yes" is exactly the
    signal a greeting or confirmation condition needs; a word with a concept contributes the
    concept only, so "greets" in a condition and "hello" in a message are the same feature.
    `synonyms` maps a lower-cased word or phrase to its canonical stem (from the glossary).
    """
    return _features(text, synonyms)


@lru_cache(maxsize=65536)
def _features(text: str, synonyms: tuple[tuple[str, str], ...]) -> frozenset[str]:
    mapping = dict(synonyms)
    found: set[str] = set()
    tokens = words(text)
    for token in _concept_tokens(tokens):
        feature = _token_feature(token, mapping)
        if feature:
            found.add(feature)
    if "@" in text and _EMAIL_ADDRESS.search(text):
        found.add("~email")
    if _LONG_NUMBER.search(text):
        found.add("~number")
    if mapping:
        padded = " " + " ".join(tokens) + " "
        for phrase, canonical in synonyms:
            if " " in phrase and f" {phrase} " in padded:
                found.add(canonical)
    return frozenset(found)


def feature_groups(
    text: str, synonyms: tuple[tuple[str, str], ...] = ()
) -> tuple[frozenset[str], ...]:
    """features() of a condition, grouped so that alternatives joined by "or" count once.

    "the APR or interest rate of a loan" → {apr, interest}, {rate}, {loan}: a customer asking
    about the APR satisfies the first group without ever saying "interest".
    """
    return _feature_groups(text, synonyms)


@lru_cache(maxsize=65536)
def _feature_groups(text: str, synonyms: tuple[tuple[str, str], ...]) -> tuple[frozenset[str], ...]:
    mapping = dict(synonyms)
    groups: list[set[str]] = []
    join_next = False
    for token in _concept_tokens(words(text)):
        if token == "or":
            join_next = bool(groups)
            continue
        feature = _token_feature(token, mapping)
        if not feature:
            continue
        if join_next:
            groups[-1].add(feature)
        else:
            groups.append({feature})
        join_next = False
    grouped = set().union(*groups) if groups else set()
    # Phrase-level features (multi-word synonyms) stand alone.
    for extra in _features(text, synonyms) - grouped:
        groups.append({extra})
    merged: list[frozenset[str]] = []
    for group in groups:
        frozen = frozenset(group)
        if frozen not in merged:
            merged.append(frozen)
    return tuple(merged)


EMBEDDING_DIMENSIONS = 256


def _bucket(feature: str) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    return value % EMBEDDING_DIMENSIONS, 1.0 if (value >> 32) & 1 else -1.0


@lru_cache(maxsize=16384)
def hashed_embedding(text: str) -> tuple[float, ...]:
    """A deterministic bag-of-features vector: stems, concepts and character trigrams of stems.

    Trigrams let "refinance" and "refinancing" share most of their mass even where the stemmer
    leaves them apart. The vector is L2-normalised, so a dot product is the cosine.
    """
    vector = [0.0] * EMBEDDING_DIMENSIONS
    for feature in features(text):
        index, sign = _bucket(feature)
        vector[index] += 2.0 * sign
        if not feature.startswith("~") and len(feature) > 3:
            padded = f"#{feature}#"
            for start in range(len(padded) - 2):
                index, sign = _bucket(padded[start : start + 3])
                vector[index] += 0.5 * sign
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return tuple(value / norm for value in vector)


def cosine(left: Iterable[float], right: Iterable[float]) -> float:
    left_values, right_values = list(left), list(right)
    if len(left_values) != len(right_values):
        return 0.0
    dot = sum(a * b for a, b in zip(left_values, right_values, strict=True))
    left_norm = math.sqrt(sum(a * a for a in left_values)) or 1.0
    right_norm = math.sqrt(sum(b * b for b in right_values)) or 1.0
    return dot / (left_norm * right_norm)


def estimate_tokens(text: str) -> int:
    """o200k token count when bpe_openai is available, else ~4 characters per token."""
    encoder = _o200k()
    if encoder is not None:
        return len(encoder.encode(text))
    return max(1, len(text) // 4)


@lru_cache(maxsize=1)
def _o200k():  # noqa: ANN202 - the encoder type belongs to an optional package
    try:
        import bpe_openai
    except ImportError:
        return None
    try:
        return bpe_openai.get_encoding("o200k_base")
    except Exception:  # noqa: BLE001 - any failure just means "estimate instead"
        return None


# ---------------------------------------------------------------------------------------------
# Dates and times as customers write them. Relative expressions ("tomorrow", "Saturday", "next
# Monday") need today's date, which the engine takes from its Clock port so tests are exact.

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Short forms collide with ordinary words ("sat", "wed", "sun"), so they count only after a word
# that introduces a day ("on sat", "next wed").
WEEKDAY_SHORT = {
    "mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4,
    "sat": 5, "sun": 6,
}  # fmt: skip
MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
_MONTH_INDEX = {name: number for number, name in enumerate(MONTH_NAMES, start=1)}
_MONTH_INDEX.update({name[:3]: number for name, number in list(_MONTH_INDEX.items())})
_MONTH_INDEX["sept"] = 9
_MONTH = r"(" + "|".join(sorted(_MONTH_INDEX, key=len, reverse=True)) + r")\.?"
_ORDINAL = r"(?:st|nd|rd|th)?"
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "fourteen": 14,
}  # fmt: skip

_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_RELATIVE_DAY = re.compile(
    r"\b(?:(the\s+)?day\s+after\s+tomorrow|today|tonight|tomorrow|tmrw|yesterday)\b"
)
_IN_DAYS = re.compile(r"\bin\s+(\d+|" + "|".join(_NUMBER_WORDS) + r")\s+(days?|weeks?)\b")
_WEEKDAY = re.compile(
    r"\b(?:(next|this|coming|last|on|by|until)\s+)?("
    + "|".join(WEEKDAY_NAMES)
    + r"|"
    + "|".join(sorted(WEEKDAY_SHORT, key=len, reverse=True))
    + r")\b\.?"
)
_MONTH_DAY = re.compile(r"\b" + _MONTH + r"\s+(\d{1,2})" + _ORDINAL + r"\b(?:,?\s+(\d{4})\b)?")
_DAY_MONTH = re.compile(
    r"\b(\d{1,2})" + _ORDINAL + r"\s+(?:of\s+)?" + _MONTH + r"(?:,?\s+(\d{4})\b)?"
)
_SLASH_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?\b")
_DAY_OF_MONTH = re.compile(r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b")

_CLOCK_TIME = re.compile(
    r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)(?![a-z])|\b(\d{1,2})[:h](\d{2})\b|"
    r"\b(noon|midday|midnight)\b"
)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _nearest(candidate_for_year, today: date, prefer_past: bool) -> date | None:  # noqa: ANN001
    """The month-day in the year that puts it nearest ahead of (or, for past, behind) today."""
    this_year = candidate_for_year(today.year)
    if this_year is None:
        return None
    if prefer_past and this_year > today:
        return candidate_for_year(today.year - 1)
    if not prefer_past and this_year < today:
        return candidate_for_year(today.year + 1)
    return this_year


def find_date(text: str, today: date | None = None, *, prefer_past: bool = False) -> date | None:
    """The first date written in `text`, or None.

    Absolute forms (2026-05-09, "May 9", "9th of May 2026", "9/5" when unambiguous) need no
    `today`; relative ones ("today", "tomorrow", "Saturday", "next Monday", "in 3 days", "the
    15th") resolve against it and are ignored without it. A weekday alone means the coming one
    (today included); "next"/"coming" skip today; "last" looks back. With `prefer_past` (a
    transaction date, a birthday) bare weekdays and year-less dates look back instead.
    """
    lowered = text.lower().replace("\u2019", "'")
    found: list[tuple[int, date]] = []

    def add(position: int, value: date | None) -> None:
        if value is not None:
            found.append((position, value))

    for match in _ISO_DATE.finditer(lowered):
        add(match.start(), _safe_date(*(int(part) for part in match.groups())))
    for match in _MONTH_DAY.finditer(lowered):
        month, day, year = _MONTH_INDEX[match.group(1)], int(match.group(2)), match.group(3)
        add(match.start(), _month_day(month, day, year, today, prefer_past))
    for match in _DAY_MONTH.finditer(lowered):
        month, day, year = _MONTH_INDEX[match.group(2)], int(match.group(1)), match.group(3)
        add(match.start(), _month_day(month, day, year, today, prefer_past))
    for match in _SLASH_DATE.finditer(lowered):
        first, second = int(match.group(1)), int(match.group(2))
        if first <= 12 and second <= 12 and first != second:
            continue  # 3/5 is March 5 to some and 3 May to others: better to ask again
        day, month = (first, second) if first > 12 or first == second else (second, first)
        year = match.group(3)
        if year and len(year) == 2:
            year = "20" + year
        add(match.start(), _month_day(month, day, year, today, prefer_past))
    if today is not None:
        for match in _RELATIVE_DAY.finditer(lowered):
            word = match.group(0)
            offset = 2 if "after" in word else {"yesterday": -1}.get(word, 0)
            offset = 1 if word in ("tomorrow", "tmrw") else offset
            add(match.start(), today + timedelta(days=offset))
        for match in _IN_DAYS.finditer(lowered):
            count = match.group(1)
            number = int(count) if count.isdigit() else _NUMBER_WORDS[count]
            days = number * (7 if match.group(2).startswith("week") else 1)
            add(match.start(), today + timedelta(days=days))
        for match in _WEEKDAY.finditer(lowered):
            qualifier, name = match.group(1), match.group(2)
            if name in WEEKDAY_SHORT and not qualifier:
                continue
            weekday = WEEKDAY_SHORT[name] if name in WEEKDAY_SHORT else WEEKDAY_NAMES.index(name)
            add(match.start(), _weekday_date(weekday, qualifier or "", today, prefer_past))
        for match in _DAY_OF_MONTH.finditer(lowered):
            day = int(match.group(1))
            add(match.start(), _nearest_in_months(day, today, prefer_past))
    if not found:
        return None
    return min(found, key=lambda pair: pair[0])[1]


def _month_day(
    month: int, day: int, year: str | None, today: date | None, prefer_past: bool
) -> date | None:
    if year:
        return _safe_date(int(year), month, day)
    if today is None:
        return None
    return _nearest(lambda y: _safe_date(y, month, day), today, prefer_past)


def _weekday_date(weekday: int, qualifier: str, today: date, prefer_past: bool) -> date:
    ahead = (weekday - today.weekday()) % 7
    if qualifier == "last" or (prefer_past and qualifier not in ("next", "coming", "this")):
        behind = (today.weekday() - weekday) % 7
        if qualifier == "last" and behind == 0:
            behind = 7
        return today - timedelta(days=behind)
    if qualifier in ("next", "coming") and ahead == 0:
        ahead = 7
    return today + timedelta(days=ahead)


def _nearest_in_months(day: int, today: date, prefer_past: bool) -> date | None:
    step = -1 if prefer_past else 1
    year, month = today.year, today.month
    for _ in range(3):
        candidate = _safe_date(year, month, day)
        if candidate is not None and (candidate <= today if prefer_past else candidate >= today):
            return candidate
        month += step
        if month == 0:
            year, month = year - 1, 12
        elif month == 13:
            year, month = year + 1, 1
    return None


def find_time(text: str) -> str | None:
    """The first clock time in `text` as "HH:MM" ("10am" → "10:00", "4.30 pm" → "16:30")."""
    match = _CLOCK_TIME.search(text.lower())
    if not match:
        return None
    if match.group(6):
        return {"noon": "12:00", "midday": "12:00", "midnight": "00:00"}[match.group(6)]
    if match.group(4):
        hour, minute = int(match.group(4)), int(match.group(5))
    else:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        meridiem = match.group(3).replace(".", "")
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def human_date(value: date, today: date | None = None) -> str:
    """ "Saturday, 9 May" (with the year when it is not this year's)."""
    weekday, month = WEEKDAY_NAMES[value.weekday()], MONTH_NAMES[value.month - 1]
    text = f"{weekday.title()}, {value.day} {month.title()}"
    if today is None or value.year != today.year:
        text += f" {value.year}"
    return text


def parse_iso_date(text: str) -> date | None:
    """A date from exactly "YYYY-MM-DD", else None."""
    match = re.fullmatch(r"\s*(\d{4})-(\d{2})-(\d{2})\s*", text)
    return _safe_date(*(int(part) for part in match.groups())) if match else None
