"""The order's search text: its customer's name, email, phone and city as the search compares them.

Its row in `OrderSearch` (orders.models, a narrow table beside the order) holds them folded: lower case, no
accents, Cyrillic written in Latin letters by Bulgaria's official transliteration (the Streamlined System of
the 2009 Transliteration Act), and the phone as digits in its international form whatever form the store
sent. A term is folded by the same function, so "иванова",
"IVANOVA" and "Ivanova" are one word to the search, on SQLite as on PostgreSQL, and "0888 123 456" finds
"+359 888 123 456". The columns shown stay as the store sent them.

`order_search_text` is the one function that computes the text. Every write path that changes one of the
four columns writes the row (orders.models.order_search_write): Order.save() (so Order.objects.create), the
order manager's bulk_create(), bulk_update() and update(), the services and the import. `manage.py
search_text` finds (and with --fix writes) missing rows and rows that disagree, for instance after
ORDEROPS["PHONE_REGION"] changed or after SQL written by hand.
"""

import functools
import re
import unicodedata

import phonenumbers

from orderops.conf import orderops_setting

# The order's columns that the search text is made of.
SEARCH_SOURCE_FIELDS = ("customer_name", "customer_email", "customer_phone", "shipping_city")

# Bulgarian Cyrillic to Latin (Streamlined System, the 2009 Transliteration Act), lower case; the few letters
# of Russian and Ukrainian names a Bulgarian store meets are written the same way.
CYRILLIC_TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z", "и": "i", "й": "y",
    "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sht", "ъ": "a", "ь": "y", "ю": "yu", "я": "ya",
    "ё": "yo", "э": "e", "ы": "y", "і": "i", "ї": "yi", "є": "ye", "ґ": "g",
}  # fmt: skip
CYRILLIC_TRANSLATION = str.maketrans(CYRILLIC_TO_LATIN)
# "ия" at the end of a word is "ia" (Мария → Maria, Лилия → Lilia), not "iya".
WORD_END_IA = re.compile(r"ия\b")
# Latin letters that Unicode does not decompose into a letter and an accent.
LATIN_UNDECOMPOSED = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe"})
# Characters of a phone as people write and dictate it.
PHONE_CHARACTERS = re.compile(r"[\d\s+()./-]+")
NOT_A_DIGIT = re.compile(r"\D")
# A phone in its international form with nothing but digits, spaces, dots and dashes after the "+".
INTERNATIONAL_PLAIN = re.compile(r"\s*\+\d[\d .-]*")
# A national number of digits, spaces, dots and dashes only, at least 6 digits long.
NATIONAL_PLAIN = re.compile(r"\s*\d[\d .-]{4,}\d\s*")


def text_fold(text: str) -> str:
    """`text` as the search compares it: case-folded, Cyrillic transliterated, accents removed."""
    if text.isascii():
        return text.lower()  # most text: one C call (an import folds every order's name, email and city)
    folded = WORD_END_IA.sub("ia", text.casefold()).translate(CYRILLIC_TRANSLATION)
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).translate(
        LATIN_UNDECOMPOSED
    )


def phone_national_digits(phone: str) -> str:
    """The phone's national significant number ("888123456" for "+359 888 123 456", "0888 123 456" in BG,
    "00359888123456"), or its digits as written when it cannot be read: what a typed phone is searched by."""
    return _phone_parts(phone)[1]


def phone_search_text(phone: str) -> str:
    """The phone's digits in its international form ("359888123456"): every form of the same number, its
    national significant number, is a part of it."""
    if not phone.strip():
        return ""
    country_code, national = _phone_parts(phone)
    return f"{country_code}{national}" if country_code else national


def _phone_parts(phone: str) -> tuple[int | None, str]:
    """(country code, national significant number) of a phone; (None, its digits) when it cannot be read.
    The plain forms are read without phonenumbers, at a fraction of its cost (an import reads every order's
    phone), and as phonenumbers reads a valid number."""
    region = orderops_setting("PHONE_REGION") or None
    digits = NOT_A_DIGIT.sub("", phone)
    if INTERNATIONAL_PLAIN.fullmatch(phone):
        # "+359 88 622 3958": country codes are prefix-free, so the first one its digits start with is it.
        for length in (1, 2, 3):
            if int(digits[:length]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                return int(digits[:length]), digits[length:]
    simple = _simple_trunk_prefix(region) if region else None
    if simple is not None and NATIONAL_PLAIN.fullmatch(phone):
        # "0888 123 456" in a region whose trunk prefix is one plain string ("0" in BG, DE, FR).
        country_code, trunk_prefix = simple
        if digits.startswith(trunk_prefix) and not digits.startswith("00"):
            return country_code, digits[len(trunk_prefix) :]
    try:
        parsed = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None, digits
    return parsed.country_code, phonenumbers.national_significant_number(parsed)


@functools.cache
def _simple_trunk_prefix(region: str) -> tuple[int, str] | None:
    """(country code, trunk prefix) of a region whose national numbers start with one plain trunk prefix
    ("0" in BG, DE, FR), or None where phonenumbers must read them (Italy keeps its 0, Britain has
    alternatives)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or not metadata.national_prefix or metadata.national_prefix_transform_rule:
        return None
    if (metadata.national_prefix_for_parsing or metadata.national_prefix) != metadata.national_prefix:
        return None
    if not metadata.national_prefix.isdigit() or metadata.country_code is None:
        return None
    return metadata.country_code, metadata.national_prefix


def order_search_text(
    *, customer_name: str, customer_email: str, customer_phone: str, shipping_city: str
) -> str:
    """The search text of an order with these columns: the one definition every write path uses."""
    parts = (
        text_fold(customer_name),
        text_fold(customer_email),
        phone_search_text(customer_phone),
        text_fold(shipping_city),
    )
    return " ".join(" ".join(part.split()) for part in parts if part.strip())


def search_text_of(order) -> str:
    """The search text that `order`'s row (an Order, or any object with its four columns) should hold."""
    return order_search_text(**{name: getattr(order, name) or "" for name in SEARCH_SOURCE_FIELDS})
