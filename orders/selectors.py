"""Reads of the order domain that several services share."""

import re

from django.db.models import F, Func, Q, QuerySet, TextField

from orderops.search import BoundedTerm, search_term_bound
from orders.models import Order, OrderStatus
from orders.search_text import NOT_A_DIGIT, PHONE_CHARACTERS, phone_national_digits, text_fold

# A longer term cannot be an order number: it goes straight to the text search.
NUMBER_MAX_LENGTH: int = Order._meta.get_field("number").max_length or 0


def final_status_labels() -> dict[str, str]:
    """{code: label} of the statuses that release an order's hold (complete, canceled, closed...)."""
    return dict(OrderStatus.objects.filter(releases_assignment=True).values_list("code", "label"))


# Store order numbers: digits, or a short letter prefix and digits ("L1999", "WC-1001", "SO_42").
LOOKS_LIKE_A_NUMBER = re.compile(r"[A-Za-z]{0,4}[-_]?\d+")
# A term of phone characters with at least this many digits is a phone ("888 123 456", "+359 88 306 5614").
PHONE_MIN_DIGITS = 7
# Digits alone from this many on are an order number or a phone ("0888123456", "883065614"); fewer are an
# order number only, found by the unique index alone.
NUMBER_OR_PHONE_MIN_DIGITS = 9
# Words shorter than a trigram cannot narrow the trigram index: they only filter what longer words found.
INDEXED_WORD_MIN_LENGTH = 3


class _Unindexed(Func):
    """search_text written so that no index matches it: a word of one or two characters filters the rows the
    other words found instead of making PostgreSQL read the whole trigram index."""

    template = "(%(expressions)s || '')"
    output_field = TextField()


def _term_words(term: str) -> list[str]:
    """The folded words of a term as search_text holds them; a phone as its national digits."""
    if PHONE_CHARACTERS.fullmatch(term) and sum(char.isdigit() for char in term) >= PHONE_MIN_DIGITS:
        return [phone_national_digits(term)]
    words = []
    for word in text_fold(term).split():
        if PHONE_CHARACTERS.fullmatch(word):
            word = NOT_A_DIGIT.sub("", word)  # "+359" as the column holds it
        if word:
            words.append(word)
    # A word inside another adds no condition ("emma" beside "emma.novak", "359" twice): each LIKE costs the
    # trigram index its trigrams' lists.
    kept = []
    for index, word in enumerate(words):
        inside_another = any(
            word in other and (word != other or other_index < index)
            for other_index, other in enumerate(words)
            if other_index != index
        )
        if not inside_another:
            kept.append(word)
    return kept


def orders_search(queryset: QuerySet[Order], term: str | BoundedTerm) -> QuerySet[Order]:
    """The orders of `queryset` that a search for `term` finds: one implementation for the console and the
    API.

    The term is first cut to ORDEROPS["SEARCH_MAX_WORDS"] words and ["SEARCH_MAX_LENGTH"] characters
    (orderops.search). A term shaped like an order number ("100042", "#100042", "l1999", "wc-1001") is looked
    up by the unique index, in any case; one of nine digits or more may also be a phone. Otherwise every word
    must be found, in any order, in the order's search column (orders/search_text.py: the customer's name,
    email, phone and city, case, accents and alphabet folded), on PostgreSQL through its trigram index.
    """
    bounded = term if isinstance(term, BoundedTerm) else search_term_bound(term)
    text = bounded.text
    if not text:
        return queryset
    number = text.removeprefix("#").strip()
    if len(number) <= NUMBER_MAX_LENGTH and LOOKS_LIKE_A_NUMBER.fullmatch(number):
        variants = sorted({number, number.upper(), number.lower()})
        # One variant: one look-up by the unique index, and the page counts its one row without the planner.
        by_number = Q(number=number) if len(variants) == 1 else Q(number__in=variants)
        if not (number.isdigit() and len(number) >= NUMBER_OR_PHONE_MIN_DIGITS):
            return queryset.filter(by_number)
        return queryset.filter(by_number | Q(search_text__contains=phone_national_digits(number)))
    condition = Q()
    unindexed = False
    for word in _term_words(text):
        if len(word) >= INDEXED_WORD_MIN_LENGTH:
            condition &= Q(search_text__contains=word)
        else:
            condition &= Q(search_text_unindexed__contains=word)
            unindexed = True
    if unindexed:
        queryset = queryset.alias(search_text_unindexed=_Unindexed(F("search_text")))
    return queryset.filter(condition)


def orders_by_number(queryset: QuerySet[Order], number: str, store: str | None = None) -> QuerySet[Order]:
    """The orders of `queryset` with this number. A number is unique per store, so two connected stores may
    both have #1001: `store` (a store's slug) narrows to one store, "" to the orders from no store (files,
    the API); None leaves every match, and the caller says which it wants when there are several."""
    queryset = queryset.filter(number=number)
    if store == "":
        return queryset.filter(store__isnull=True)
    if store is not None:
        return queryset.filter(store__slug=store)
    return queryset
