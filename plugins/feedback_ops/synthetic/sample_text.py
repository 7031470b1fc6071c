"""Project-written text for the sample data: templated comments, the checkout incident, synthetic PII, markup.

Everything here is owned by the project (no third-party text): NPS and survey comments built from aspect
phrases, complaints about the checkout broken by the 2026-11-18 release in the style of each channel, fake
PII values on reserved ranges (example domains, 555-01xx and Ofcom drama numbers, public test card numbers),
and the light HTML and whitespace that real exports carry. Every function draws from the ``random.Random``
it is given, so the same seed gives the same text. ``tools/build_sample_data.py`` uses it.
"""

from __future__ import annotations

import html
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------------------
# Templates: slots are {name}, {name_cap} (capitalised) or {name_lc} (lower-cased)
# --------------------------------------------------------------------------------------------------------

SOCIAL_HANDLES = ("@marketapp", "@marketapp_help", "@MarketApp")
"""The marketplace's (fictional) social accounts."""

SLOT = re.compile(r"\{(\w+?)(_cap|_lc)?\}")


def fill(template: str, pools: dict[str, Sequence[str]], rng: random.Random) -> str:
    """Fill every slot of ``template`` from ``pools`` (values may hold slots of their own)."""

    def choose(match: re.Match[str]) -> str:
        value = fill(rng.choice(pools[match.group(1)]), pools, rng)
        if match.group(2) == "_cap":
            return value[:1].upper() + value[1:]
        if match.group(2) == "_lc":
            return value[:1].lower() + value[1:]
        return value

    return SLOT.sub(choose, template)


# --------------------------------------------------------------------------------------------------------
# NPS and survey comments
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Aspect:
    """What a comment can be about: its product area and phrases in praise, in complaint, and as a wish."""

    area: str
    weight: int
    pos: tuple[str, ...]
    neg: tuple[str, ...]
    fix: tuple[str, ...]


ASPECTS = (
    Aspect(
        "delivery",
        20,
        (
            "deliveries always arrive on time",
            "the courier was fast and friendly",
            "my orders show up the next day",
            "tracking is accurate to the minute",
            "parcels come well packed",
        ),
        (
            "deliveries are often late",
            "my last two orders arrived damaged",
            "the delivery window keeps moving",
            "the courier left my parcel in the rain",
            "tracking said delivered but nothing came",
        ),
        ("deliveries came on time", "the delivery slots were narrower", "tracking was reliable"),
    ),
    Aspect(
        "mobile_app",
        16,
        (
            "the app is quick and easy to use",
            "the new app layout is clean",
            "reordering from the app takes seconds",
            "the app remembers everything I need",
        ),
        (
            "the app logs me out all the time",
            "the app is slow on my phone",
            "notifications are spammy",
            "the app crashes when I open my orders",
            "the dark mode is unreadable",
        ),
        ("the app stopped logging me out", "the app was a bit faster", "there were fewer notifications"),
    ),
    Aspect(
        "customer_service",
        14,
        (
            "support sorted my problem in one chat",
            "the agent I spoke to was really helpful",
            "customer service actually listens",
            "returns were handled without any fuss",
        ),
        (
            "support takes days to reply",
            "I was bounced between three agents",
            "the chatbot never understands my question",
            "nobody answers the phone",
        ),
        ("support answered faster", "I could reach a human more easily"),
    ),
    Aspect(
        "billing",
        12,
        (
            "prices are fair",
            "the membership pays for itself",
            "there are no hidden fees",
            "the deals are genuinely good",
        ),
        (
            "delivery fees keep going up",
            "the service fee is too high",
            "I was billed for a membership I cancelled",
            "prices change between the basket and the receipt",
        ),
        ("the fees were lower", "prices were clearer"),
    ),
    Aspect(
        "payments",
        9,
        (
            "paying with the wallet is painless",
            "refunds land in my account quickly",
            "splitting a payment with pay-later is handy",
        ),
        (
            "my refund took three weeks",
            "the wallet top-up failed twice",
            "I was charged twice for one order",
            "my pay-later instalment was taken early",
        ),
        ("refunds were quicker", "the wallet top-up worked every time"),
    ),
    Aspect(
        "search",
        8,
        (
            "search finds what I want straight away",
            "the filters make it easy to find things",
            "the recommendations are spot on",
        ),
        (
            "search results are irrelevant",
            "I can never find items I bought before",
            "the filters reset every time I go back",
        ),
        ("search understood typos", "I could filter by brand"),
    ),
    Aspect(
        "account",
        6,
        ("managing my account is simple", "two-factor login is smooth"),
        ("I couldn't reset my password", "two-factor codes arrive late", "I can't change my email address"),
        ("password resets worked", "I could change my email myself"),
    ),
    Aspect(
        "onboarding",
        5,
        ("signing up took a minute", "setting up my account was easy"),
        ("verifying my identity took a week", "the sign-up form kept rejecting my address"),
        ("sign-up was shorter", "identity checks were faster"),
    ),
    Aspect(
        "checkout",
        4,
        ("checkout is quick", "paying takes two taps", "checkout just works"),
        (
            "checkout is clunky",
            "the promo code field never accepts my codes",
            "I have to re-enter my address at checkout every time",
        ),
        ("checkout remembered my address", "promo codes worked at checkout"),
    ),
)


COMMENT_TEMPLATES = {
    "promoter": (
        "{pos_cap}.",
        "{pos_cap} and {pos2}.",
        "Love it! {pos_cap}.",
        "{pos_cap}. {closing_pos}",
        "Honestly great: {pos}.",
        "{closing_pos} {pos_cap}.",
        "{pos_cap}, and {pos2} too.",
    ),
    "passive": (
        "{pos_cap}, but {neg2}.",
        "Mostly fine. {neg_cap}.",
        "{pos_cap}. Would be a 10 if {fix}.",
        "Good overall, although {neg}.",
        "{neg_cap}, otherwise no complaints.",
        "It's ok. {pos_cap}, but {neg2}.",
    ),
    "detractor": (
        "{neg_cap}.",
        "{neg_cap}. {neg2_cap}.",
        "{neg_cap} and nobody seems to care.",
        "Used to love it, but {neg}.",
        "{neg_cap}. {closing_neg}",
        "Not happy: {neg}.",
        "{neg_cap}. Please fix it, {fix_lc} would change everything.",
    ),
}


CLOSINGS = {
    "closing_pos": (
        "Already recommended you to friends.",
        "Would recommend.",
        "Best shopping app I use.",
        "Keep it up!",
        "Five stars from me.",
    ),
    "closing_neg": (
        "Thinking of switching.",
        "Cancelled my membership.",
        "I expected better.",
        "Really disappointed.",
        "Sort it out please.",
    ),
}


FOREIGN_COMMENTS = (
    ("es-ES", "delivery", True, "La entrega llegó antes de lo previsto, muy contenta."),
    ("es-ES", "mobile_app", False, "La aplicación se cierra sola cuando abro mis pedidos."),
    ("es-ES", "customer_service", False, "El servicio de atención al cliente tardó tres días en responder."),
    ("es-ES", "billing", True, "Precios justos y envío rápido, lo recomiendo."),
    ("es-ES", "search", False, "No encuentro nada con el buscador, siempre salen productos que no busco."),
    ("de-DE", "delivery", True, "Lieferung war pünktlich und gut verpackt."),
    ("de-DE", "mobile_app", False, "Die App ist langsam und stürzt oft ab."),
    ("de-DE", "customer_service", True, "Der Kundenservice war sehr freundlich und hat schnell geholfen."),
    ("de-DE", "billing", False, "Die Liefergebühren sind einfach zu hoch geworden."),
    ("de-DE", "account", False, "Ich kann meine E-Mail-Adresse im Konto nicht ändern."),
    ("fr-FR", "delivery", True, "Livraison rapide, rien à redire."),
    ("fr-FR", "mobile_app", False, "L'application me déconnecte sans arrêt, c'est pénible."),
    ("fr-FR", "customer_service", False, "Le service client ne répond jamais aux messages."),
    ("fr-FR", "billing", False, "Les frais de service sont trop élevés pour de petites commandes."),
    ("fr-FR", "onboarding", True, "Inscription simple et rapide, très satisfaite."),
)


SURVEYS = (
    ("Post-delivery survey: How was your delivery?", "delivery", 40),
    ("Support follow-up: How did we do?", "customer_service", 25),
    ("Search feedback: Did you find what you were looking for?", "search", 15),
    ("App feedback: How do you like the app?", "mobile_app", 15),
    ("Checkout survey: How easy was paying today?", "checkout", 5),
)


ASPECT_BY_AREA = {aspect.area: aspect for aspect in ASPECTS}


def pick_aspect(rng: random.Random, exclude: str = "") -> Aspect:
    """A weighted random aspect, other than the one whose area is ``exclude``."""
    choices = [a for a in ASPECTS if a.area != exclude]
    return rng.choices(choices, weights=[a.weight for a in choices])[0]


def comment(bucket: str, aspect: Aspect, rng: random.Random) -> str:
    """One English comment of a promoter / passive / detractor about ``aspect`` (and maybe a second one)."""
    other = pick_aspect(rng, exclude=aspect.area)
    pools: dict[str, Sequence[str]] = {
        "pos": aspect.pos,
        "neg": aspect.neg,
        "fix": aspect.fix,
        "pos2": other.pos,
        "neg2": other.neg,
        **CLOSINGS,
    }
    return fill(rng.choice(COMMENT_TEMPLATES[bucket]), pools, rng)


def nps_score(rng: random.Random) -> tuple[int, str]:
    """An NPS score 0-10 and its bucket (promoter 9-10, passive 7-8, detractor 0-6)."""
    bucket = rng.choices(("promoter", "passive", "detractor"), weights=(45, 30, 25))[0]
    scores = {"promoter": (9, 10, 10), "passive": (7, 8), "detractor": (0, 2, 3, 4, 5, 5, 6, 6)}[bucket]
    return rng.choice(scores), bucket


def foreign_comment(rng: random.Random) -> tuple[str, str, bool, str]:
    """``(locale, product area, is positive, text)`` of a Spanish, German or French comment."""
    return rng.choice(FOREIGN_COMMENTS)


# --------------------------------------------------------------------------------------------------------
# The checkout incident
# --------------------------------------------------------------------------------------------------------

INCIDENT_POOLS: dict[str, Sequence[str]] = {
    "opener": (
        "Since the latest update",
        "Since updating the app this morning",
        "After the new version installed",
        "Ever since version 5.13",
        "Since today's update",
        "After updating to 5.13.0",
        "Since the update",
        "From this morning on",
        "Right after the app updated",
        "Since the new release",
    ),
    "fail": (
        "checkout keeps failing with an error",
        "I can't complete checkout at all",
        "my order won't go through",
        "the payment fails every single time",
        'I get "Payment failed, please try again" on the last step',
        "checkout shows error {code} and kicks me back to the basket",
        "the Place order button just spins and then times out",
        "tapping Pay does nothing",
        "the app crashes as soon as I hit Place order",
        "the {method} sheet closes and nothing happens",
        'it gets stuck on "Processing payment..." forever',
        "the card verification page never loads",
        "my card gets declined at checkout even though it works everywhere else",
        "I was charged {amount} but no order was created",
        "the money left my account but there is no order in my history",
        "I got charged twice ({amount} each) and still have no order confirmation",
        "checkout says my session expired every time I try to pay",
        "my basket empties itself when I try to pay",
        "the order is not going through and I was still charged {amount}",
        "I keep getting an error at checkout",
    ),
    "detail": (
        "I tried {n} times",
        "I tried with two different cards",
        "same thing on wifi and on mobile data",
        "same on {device} and on the website",
        "I reinstalled the app and it still fails",
        "I cleared the cache and logged out and back in, no luck",
        "it worked fine last week",
        "my partner has the same problem on {device}",
        "the bank app shows the charge as pending",
        "I never got a confirmation email",
        "it happens with {method} too",
        "the error code is {code}",
        "the basket total was {amount}",
    ),
    "ask": (
        "Please fix this asap.",
        "Can someone refund the charge?",
        "Where is my order?",
        "Is there an outage?",
        "I need this order today.",
        "Please roll back the update.",
        "I'll shop somewhere else if this isn't fixed.",
        "Do I need to order again or not?",
        "Very frustrating.",
        "Not impressed.",
        "Help!",
        "Any ETA on a fix?",
        "What is going on?",
    ),
    "method": ("Visa", "Mastercard", "Apple Pay", "Google Pay", "PayPal", "wallet", "Amex", "pay-later"),
    "amount": (
        "$23.40",
        "$57.98",
        "$112.15",
        "$8.99",
        "£18.99",
        "£42.50",
        "€45.10",
        "€19.80",
        "$74.30",
        "£9.45",
    ),
    "code": ("PAY-502", "CHK-1042", "E_PAYMENT_TIMEOUT", "ERR_ORDER_CREATE", "PAY-3DS-408", "CHK-500"),
    "n": ("3", "4", "5", "five", "six", "like ten", "several"),
    "device": ("my iPhone", "my Android phone", "an iPad", "my Pixel", "my Galaxy", "my laptop"),
    "hashtag": ("#fail", "#checkout", "#outage", "#down", "#annoyed", "#help"),
    "handle": SOCIAL_HANDLES,
    "greeting": ("hi", "hello", "hey", "Hi there", "Hello,", "hi team"),
    "when": (
        "an hour ago",
        "right after updating",
        "a couple of hours ago",
        "on my first order after the update",
    ),
    "es_fail": (
        "el pago falla en el último paso",
        "me cobraron {amount} pero no aparece el pedido",
        "el botón de pagar no hace nada",
    ),
    "es_ask": ("¿Lo pueden arreglar?", "Necesito el pedido hoy.", "Por favor, devuélvanme el dinero."),
    "de_fail": (
        "die Zahlung schlägt jedes Mal fehl",
        "mir wurden {amount} abgebucht, aber es gibt keine Bestellung",
        "der Bezahlen-Button reagiert nicht",
    ),
    "de_ask": ("Bitte schnell beheben.", "Wo ist meine Bestellung?", "Ich will mein Geld zurück."),
    "fr_fail": (
        "le paiement échoue à la dernière étape",
        "j'ai été débitée de {amount} mais la commande n'apparaît pas",
        "le bouton Payer ne fait rien",
    ),
    "fr_ask": ("Merci de corriger vite.", "Où est ma commande ?", "Je veux être remboursé."),
}


INCIDENT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "app_store": (
        "{opener} {fail}. {detail_cap}. {ask}",
        "{fail_cap} since the update. {ask}",
        "Used to be great, but {opener_lc} {fail}. {ask}",
        "{fail_cap}!! {detail_cap}.",
        "1 star until checkout works again. {fail_cap}.",
        "{opener} {fail}. {ask}",
        "New version is broken: {fail}. {detail_cap}.",
    ),
    "support_ticket": (
        "Hello,\n\n{opener} {fail}. {detail_cap}. {detail_cap}.\n\n{ask}\n\nThanks",
        "Hi team, {fail}. {detail_cap}. {ask}",
        "{opener} {fail}. {ask} First noticed it {when}.",
        "Hello,\n\nI am writing because {fail}. {detail_cap}.\n\n{ask}",
        "{fail_cap}. {detail_cap}. This started after the app update. {ask}",
    ),
    "chat": (
        "{greeting} {fail}",
        "{greeting} {opener_lc} {fail}. {ask}",
        "{greeting}, {fail}?? {detail}",
        "I need help: {fail}. {detail_cap}.",
        "{fail_cap}. {ask}",
        "{opener} {fail}, can you check?",
    ),
    "social": (
        "{handle} {fail}. {ask}",
        "is checkout down for anyone else? {fail_cap}.",
        "{opener} {fail}. {hashtag}",
        "{handle} {fail} {hashtag}",
        "great, new update and {fail}. thanks {handle}",
        "{fail_cap}. {detail_cap}. {hashtag}",
    ),
}


INCIDENT_FOREIGN = (
    ("es-ES", "Desde la actualización no puedo pagar: {es_fail}. {es_ask}"),
    ("de-DE", "Seit dem Update klappt der Checkout nicht mehr: {de_fail}. {de_ask}"),
    ("fr-FR", "Depuis la mise à jour, impossible de payer : {fr_fail}. {fr_ask}"),
)


INCIDENT_TITLES = {
    ("app_store", True): ("Charged but no order!!", "Money taken, no order", "Took my money, no order"),
    ("app_store", False): (
        "Checkout broken after update",
        "Can't pay anymore",
        "Update broke payments",
        "Payment fails every time",
        "Worst update",
        "Order won't go through",
        "Fix checkout please",
    ),
    ("support_ticket", True): (
        "Charged but order not created",
        "Duplicate charge, no order confirmation",
        "Payment taken but no order",
    ),
    ("support_ticket", False): (
        "Payment failed at checkout",
        "Error at checkout after app update",
        "Unable to complete order",
        "Checkout error",
        "Order not going through",
    ),
}


CHARGED_WORDS = ("charged", "money left", "cobraron", "abgebucht", "débitée")


def incident_text(channel: str, rng: random.Random) -> tuple[str, str]:
    """``(locale, text)`` of one complaint about the broken checkout, in the style of ``channel``."""
    if rng.random() < 0.05:
        locale, template = rng.choice(INCIDENT_FOREIGN)
        return locale, fill(template, INCIDENT_POOLS, rng)
    locale = rng.choices(("en-US", "en-GB"), weights=(65, 35))[0]
    return locale, fill(rng.choice(INCIDENT_TEMPLATES[channel]), INCIDENT_POOLS, rng)


# --------------------------------------------------------------------------------------------------------
# Synthetic PII
# --------------------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "maria", "james", "li", "sofia", "ahmed", "olivia", "lukas", "chloe",
    "daniel", "aisha", "tom", "emma", "carlos", "nina", "raj", "hannah",
)  # fmt: skip


LAST_NAMES = (
    "lopez", "smith", "chen", "rossi", "khan", "brown", "muller", "martin",
    "garcia", "okafor", "jones", "novak", "silva", "patel", "walsh", "berg",
)  # fmt: skip


EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")


TEST_CARD_NUMBERS = (
    "4111111111111111",
    "4242424242424242",
    "5555555555554444",
    "5105105105105100",
    "4000056655665556",
    "5200828282828210",
    "4012888888881881",
    "6011111111111117",
    "378282246310005",
)
"""Public payment-processor test numbers: they pass the Luhn check and belong to nobody."""


PII_SENTENCES = {
    "email": (
        "You can reach me at {email}.",
        "My account email is {email}.",
        "Please reply to {email} rather than in the app.",
        "(my email: {email})",
        "Contact me on {email}.",
    ),
    "phone": (
        "Call me on {phone}.",
        "My number is {phone}.",
        "Please call back on {phone}.",
        "Text me at {phone} if that's easier.",
    ),
    "card": (
        "I paid with card {card}.",
        "Card used: {card}.",
        "The charge was on my card {card}.",
        "It's the card {card}, expiry 09/28.",
    ),
    "order": (
        "Order number {order}.",
        "This is about order {order}.",
        "My order id is {order}.",
        "Ref: {order}",
    ),
}


PII_TYPE_WEIGHTS = {"email": 35, "phone": 30, "card": 15, "order": 20}


def luhn_valid(number: str) -> bool:
    """Whether the digits of ``number`` pass the Luhn check."""
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return bool(digits) and total % 10 == 0


def fake_email(rng: random.Random) -> str:
    """A fake address on a reserved example domain, e.g. ``maria.lopez@example.com``."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = rng.choice(
        (f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randrange(10, 99)}", f"{first}_{last}")
    )
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def fake_phone(rng: random.Random) -> str:
    """A fictional US (555-01xx) or UK (Ofcom drama range) number in a common format."""
    area = rng.choice(("415", "212", "312", "646", "303"))
    line = rng.randrange(100)
    uk = rng.randrange(1000)
    return rng.choice(
        (
            f"+1 {area}-555-01{line:02d}",
            f"({area}) 555-01{line:02d}",
            f"{area}.555.01{line:02d}",
            f"+44 20 7946 0{uk:03d}",
            f"020 7946 0{uk:03d}",
            f"+44 113 496 0{uk:03d}",
        )
    )


def fake_card(rng: random.Random) -> str:
    """A Luhn-valid test card number, grouped by spaces or dashes, or not at all."""
    number = rng.choice(TEST_CARD_NUMBERS)
    if len(number) == 15:
        groups = [number[:4], number[4:10], number[10:]]
    else:
        groups = [number[i : i + 4] for i in range(0, 16, 4)]
    return rng.choice((" ", "-", "")).join(groups)


def pii_sentence(kind: str, rng: random.Random) -> str:
    """A sentence carrying one synthetic PII value of ``kind``."""
    value = {
        "email": fake_email,
        "phone": fake_phone,
        "card": fake_card,
        "order": lambda r: f"ORD-{r.randrange(100000, 1000000)}",
    }[kind](rng)
    return rng.choice(PII_SENTENCES[kind]).replace("{" + kind + "}", value)


def insert_sentence(text: str, sentence: str, rng: random.Random) -> str:
    """``text`` with ``sentence`` appended, added as a paragraph, or put after one of its sentences."""
    if "\n\n" in text and rng.random() < 0.5:
        return f"{text.rstrip()}\n\n{sentence}"
    boundaries = [m.end() for m in re.finditer(r"[.!?] ", text)]
    if boundaries and rng.random() < 0.5:
        cut = rng.choice(boundaries)
        return f"{text[:cut]}{sentence} {text[cut:]}"
    body = text.rstrip()
    return f"{body}{'.' if body[-1:].isalnum() else ''} {sentence}"


# --------------------------------------------------------------------------------------------------------
# Export markup: light HTML and stray whitespace
# --------------------------------------------------------------------------------------------------------


def html_paragraphs(text: str, rng: random.Random) -> str:
    """Text as an HTML body: one ``<p>`` per paragraph, entities escaped, sometimes a ``&nbsp;``."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    escaped = [html.escape(p, quote=False) for p in paragraphs]
    if rng.random() < 0.3:
        escaped = [p.replace(". ", ".&nbsp; ", 1) for p in escaped]
    return rng.choice(("", "\n")).join(f"<p>{p}</p>" for p in escaped)


def html_line_breaks(text: str, rng: random.Random) -> str:
    """Text with ``<br>`` for line breaks (or after its first sentence), ``&amp;`` and often ``&#39;``."""
    escaped = html.escape(text, quote=False)
    if rng.random() < 0.5:
        escaped = escaped.replace("'", "&#39;")
    tag = rng.choice(("<br>", "<br/>", "<br />"))
    if "\n" in escaped:
        return escaped.replace("\n", tag)
    return (
        re.sub(r"([.!?]) ", lambda m: f"{m.group(1)}{tag}", escaped, count=1)
        if ". " in escaped
        else escaped + tag
    )


def noisy_whitespace(text: str, rng: random.Random) -> str:
    """Text with stray spaces, a tab or newlines around it and doubled spaces inside, as exports have."""
    words = text.split(" ")
    for index in rng.sample(range(len(words)), min(3, len(words))):
        words[index] += " " * rng.randint(1, 3)
    return rng.choice(("  ", "\n", " \t", "")) + " ".join(words) + rng.choice(("  ", " \n", "\n\n", "\t"))


MARKUPS: dict[str, Callable[[str, random.Random], str]] = {
    "html_p": html_paragraphs,
    "html_br": html_line_breaks,
    "whitespace": noisy_whitespace,
}
