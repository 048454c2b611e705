"""Reads of the order domain that several services share."""

import re
import time

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import F, Func, Q, QuerySet, TextField

from orderops.search import BoundedTerm, search_term_bound
from orders.models import Order, OrderSearch, OrderStatus
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
    """The search text written so that no index matches it: a word of one or two characters filters the rows
    the other words found instead of making PostgreSQL read the whole trigram index."""

    template = "(%(expressions)s || '')"
    output_field = TextField()


def _term_words(term: str) -> list[str]:
    """The folded words of a term as the search text holds them; a phone as its national digits."""
    if PHONE_CHARACTERS.fullmatch(term) and sum(char.isdigit() for char in term) >= PHONE_MIN_DIGITS:
        return [phone_national_digits(term)]
    words = []
    for word in text_fold(term).split():
        if PHONE_CHARACTERS.fullmatch(word):
            word = NOT_A_DIGIT.sub("", word)  # "+359" as the search text holds it
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
    must be found, in any order, in the order's search text (its OrderSearch row, orders/search_text.py: the
    customer's name, email, phone and city, case, accents and alphabet folded), on PostgreSQL through its
    trigram index. The orders are joined to their search rows (an order without one is not found by text).
    """
    bounded = term if isinstance(term, BoundedTerm) else search_term_bound(term)
    text = bounded.text
    if not text:
        return queryset
    if _number_shaped(text):
        number = text.removeprefix("#").strip()
        variants = sorted({number, number.upper(), number.lower()})
        # One variant: one look-up by the unique index, and the page counts its one row without the planner.
        by_number = Q(number=number) if len(variants) == 1 else Q(number__in=variants)
        if not (number.isdigit() and len(number) >= NUMBER_OR_PHONE_MIN_DIGITS):
            return queryset.filter(by_number)
        # The ids of both in one UNION, each by its own index: an OR across the order and its search row
        # would join every order to its row before filtering.
        numbered = Order._base_manager.filter(by_number).order_by().values("pk")
        phoned = OrderSearch.objects.filter(text__contains=phone_national_digits(number)).values("order_id")
        return queryset.filter(pk__in=numbered.union(phoned))
    return _text_search(queryset, _term_words(text), "search__text")


def _number_shaped(text: str) -> bool:
    number = text.removeprefix("#").strip()
    return len(number) <= NUMBER_MAX_LENGTH and bool(LOOKS_LIKE_A_NUMBER.fullmatch(number))


def orders_search_rows(
    term: str | BoundedTerm, *, using: str = DEFAULT_DB_ALIAS
) -> QuerySet[OrderSearch] | None:
    """The search rows of the orders that orders_search finds among all orders for a text term, newest
    order first (their copy of its created_at, then its id: the order list's own order), or None for a term
    that is not a text search (empty, or shaped like an order number). A page of all orders' search is
    sorted, cut and counted from these rows alone, and only the page's orders are read: joining every match
    to its order to sort by the order's created_at cost as much as finding the matches (bench figure 7)."""
    bounded = term if isinstance(term, BoundedTerm) else search_term_bound(term)
    text = bounded.text
    if not text or _number_shaped(text):
        return None
    rows = OrderSearch.objects.using(using).order_by("-order_created_at", "-order_id")
    return _text_search(rows, _term_words(text), "text")


def _text_search[Model: models.Model](
    queryset: QuerySet[Model], words: list[str], text: str
) -> QuerySet[Model]:
    """`queryset` narrowed to the rows whose search text (the column `text` names: "search__text" from an
    order, "text" from its search row) holds every word."""
    sample = _search_text_sample(queryset.db)
    keys = [word for word in words if len(word) >= INDEXED_WORD_MIN_LENGTH and not _common(word, sample)]
    if not keys or _share(words, sample) >= COMMON_TERM_SHARE:
        # A common term (or only common words): plain conditions, whose statistics tell the planner that
        # walking the newest orders fills a page at once (an expression has none: the planner would expect
        # few rows and read every row the keys find instead).
        keys = [word for word in words if len(word) >= INDEXED_WORD_MIN_LENGTH]
    condition = Q()
    unindexed = False
    for word in words:
        if word in keys:
            condition &= Q(**{f"{text}__contains": word})
        else:
            condition &= Q(search_text_unindexed__contains=word)
            unindexed = True
    if unindexed:
        return queryset.alias(search_text_unindexed=_Unindexed(F(text))).filter(condition)  # type: ignore[return-value]
    return queryset.filter(condition)


def orders_search_customer(queryset: QuerySet[Order], term: str) -> QuerySet[Order]:
    """The orders of `queryset` that orders_search finds for a customer's email or phone (the order page's
    "other orders"), the same rows, cheaper for an email: the trigram index is read for the email's own part
    (before the "@") alone, and the whole email filters what it found. The domain ("example.com",
    "gmail.com") is in most orders' search text: its trigrams' lists, each nearly as long as the table,
    are what a search for the whole email reads, to narrow nothing the own part has not narrowed."""
    bounded = search_term_bound(term)
    words = _term_words(bounded.text)
    own, at, _domain = words[0].partition("@") if len(words) == 1 else ("", "", "")
    if not at or len(own) < INDEXED_WORD_MIN_LENGTH:
        return orders_search(queryset, bounded)
    return queryset.alias(search_text_unindexed=_Unindexed(F("search__text"))).filter(
        search__text__contains=own, search_text_unindexed__contains=words[0]
    )


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


# A word found in more than this share of the orders ("example", "com", "359": an email domain, a country
# code) beside a rarer word is a filter, not a key of the trigram index: reading its trigrams' lists, each
# nearly as long as the table, would hardly narrow the rows the rarer word finds. Rarer words stay keys:
# their lists are shorter than the heap rows they save (their intersection is what the page reads).
COMMON_WORD_SHARE = 0.3
# A term that at least this share of the orders match as a whole fills a page from the newest orders.
COMMON_TERM_SHARE = 0.01
# How long one process keeps its sample of the search text (PostgreSQL's own, from the last ANALYZE).
SAMPLE_TTL = 600.0
_samples: dict[str, tuple[float, tuple[str, ...]]] = {}


def _search_text_sample(db: str) -> tuple[str, ...]:
    """Up to 1,000 values of the search text that PostgreSQL's statistics keep (its histogram, refreshed by
    ANALYZE), read once per SAMPLE_TTL per process; empty elsewhere and before the first ANALYZE."""
    connection = connections[db]
    if connection.vendor != "postgresql":
        return ()
    now = time.monotonic()
    cached = _samples.get(db)
    if cached is not None and now - cached[0] < SAMPLE_TTL:
        return cached[1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT histogram_bounds::text::text[] FROM pg_stats"
            " WHERE schemaname = current_schema() AND tablename = %s AND attname = 'text'",
            [OrderSearch._meta.db_table],
        )
        row = cursor.fetchone()
    sample = tuple(row[0]) if row and row[0] else ()
    _samples[db] = (now, sample)
    return sample


def _share(words: list[str], sample: tuple[str, ...]) -> float:
    """The share of the sampled search texts that contain every word (0 without a sample)."""
    if len(sample) < 100:
        return 0.0
    return sum(all(word in text for word in words) for text in sample) / len(sample)


def _common(word: str, sample: tuple[str, ...]) -> bool:
    """Whether `word` is in more than COMMON_WORD_SHARE of the sampled search texts (never without a
    sample)."""
    if len(sample) < 100:
        return False
    return sum(word in text for text in sample) > COMMON_WORD_SHARE * len(sample)
