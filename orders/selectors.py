"""Reads of the order domain that several services share."""

import re

from django.db import connections
from django.db.models import F, Func, Q, QuerySet, TextField, Value

from orders.models import Order, OrderStatus

# A longer term cannot be an order number: it goes straight to the text search.
NUMBER_MAX_LENGTH: int = Order._meta.get_field("number").max_length or 0


def final_status_labels() -> dict[str, str]:
    """{code: label} of the statuses that release an order's hold (complete, canceled, closed...)."""
    return dict(OrderStatus.objects.filter(releases_assignment=True).values_list("code", "label"))


# The columns a search reads besides the number, in the order of orders 0005's index expression.
SEARCH_FIELDS = ("customer_name", "customer_email", "customer_phone", "shipping_city")


class _SearchText(Func):
    """orderops_unaccent(lower(name || ' ' || email || ' ' || phone || ' ' || city)): the expression of
    order_search_trgm_idx (orders 0005), written the same way, for the planner matches an index by its
    expression. The columns are NOT NULL, so `||` never makes the whole text NULL."""

    template = "orderops_unaccent(lower(%(expressions)s))"
    arg_joiner = " || ' ' || "
    output_field = TextField()


class _Folded(Func):
    """The search term folded like the indexed text: unaccented and lower-cased, by the same function."""

    template = "orderops_unaccent(lower(%(expressions)s))"
    output_field = TextField()


# Store order numbers: digits, or a short letter prefix and digits ("L1999", "WC-1001", "SO_42").
LOOKS_LIKE_A_NUMBER = re.compile(r"[A-Za-z]{0,4}[-_]?\d+")


def orders_search(queryset: QuerySet[Order], term: str) -> QuerySet[Order]:
    """The orders of `queryset` that a search for `term` finds.

    A term shaped like an order number (digits, optionally after a few letters and a dash: "100042",
    "#100042", "L1999", "WC-1001") is looked up alone by the unique index. Otherwise the term is found
    anywhere in the customer's name, email, phone or the shipping city. On PostgreSQL that is one trigram
    index over the four (orders 0005), accent- and case-insensitive ("muller" finds "Müller"). SQLite,
    which has no unaccent, compares case-insensitively (ASCII letters only) and accents must match.
    """
    term = term.strip()
    if not term:
        return queryset
    number = term.removeprefix("#").strip()
    if len(number) <= NUMBER_MAX_LENGTH and LOOKS_LIKE_A_NUMBER.fullmatch(number):
        # One look-up by the unique index, and the page counts its one row without asking the planner.
        return queryset.filter(number=number)
    if connections[queryset.db].vendor == "postgresql":
        text = _SearchText(*(F(field) for field in SEARCH_FIELDS))
        return queryset.alias(search_text=text).filter(search_text__contains=_Folded(Value(term)))
    condition = Q()
    for field in SEARCH_FIELDS:
        condition |= Q(**{f"{field}__icontains": term})
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
