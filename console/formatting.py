"""How the console writes times, money and people: ages, hold durations, exact times, totals, display
names, each in the viewer's language and time zone."""

from decimal import Decimal

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import formats
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from orderops.formatting import elapsed
from orderops.formatting import exact_time as exact_time  # the console writes exact times as the emails do
from orderops.types import Actor
from orders.results import user_display_name


def short_age(moment) -> str:
    """How long ago, in one short unit: "just now", "5 min", "3 h", "2 d" (orderops.formatting.elapsed)."""
    unit, count = elapsed(moment)
    if unit == "now":
        return _("just now")
    if unit == "min":
        return _("%(count)s min") % {"count": count}
    if unit == "h":
        return _("%(count)s h") % {"count": count}
    return _("%(count)s d") % {"count": count}


def short_ago(moment) -> str:
    """ "3 h ago", or "just now": how the list and the timeline say when something happened."""
    if elapsed(moment)[0] == "now":
        return _("just now")
    return _("%(age)s ago") % {"age": short_age(moment)}


def time_ago(moment) -> str:
    """How long ago `moment` was, in words: "just now" for the first minute, as short_ago says it (naturaltime
    would say "now" or "30 seconds ago"), then "5 minutes ago", "2 hours ago", "3 days ago"."""
    if elapsed(moment)[0] == "now":
        return _("just now")
    return naturaltime(moment)


# To the minute, as each language writes it (24-hour in both). strftime patterns: the list writes two per
# row, and `date_format` interprets a format string per call.
# Symbols people write for the currencies stores use; any other currency keeps its ISO code.
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "BGN": "лв."}
# Where the symbol goes, by language: "132,40 €" in Bulgarian, "€132.40" in English.
SYMBOL_FIRST = {"en": True}


def money(amount: Decimal | int | float | None, currency: str) -> str:
    """A total in the viewer's language: "132,40 €" (bg), "€132.40" (en), "1 250,00 лв.", "132,40 CHF"."""
    if amount is None:
        return ""
    number = formats.number_format(amount, 2, use_l10n=True, force_grouping=True)
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    if symbol and SYMBOL_FIRST.get((get_language() or "en").split("-")[0], False) and symbol != "лв.":
        return f"{symbol}{number}"
    return f"{number}\xa0{symbol or currency}"


def display_name(user: Actor | None, *, viewer_id: int | None = None) -> str:
    """A person as the console names them: "you" to the viewer themselves, otherwise the full name or the
    username; "the system" for no one (a change no person made)."""
    if user is not None and viewer_id is not None and user.pk == viewer_id:
        return _("you")
    return user_display_name(user)
