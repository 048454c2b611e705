"""Exact times as every surface writes them (the console's pages and the notifications' emails alike): to the
minute, in the active language's pattern and time zone."""

from django.utils import timezone
from django.utils.translation import get_language

EXACT_TIME = {"bg": "%d.%m.%Y %H:%M", "en": "%Y-%m-%d %H:%M"}


def exact_time(moment) -> str:
    """To the minute in the viewer's time zone, with the zone's abbreviation: "06.12.2026 14:05 EET" in
    Bulgarian, "2026-12-06 12:05 UTC" in English (unambiguous: no month names, no a.m./p.m.)."""
    local = timezone.localtime(moment)
    pattern = EXACT_TIME.get((get_language() or "en").split("-")[0], EXACT_TIME["en"])
    return f"{local.strftime(pattern)} {local.tzname()}"
