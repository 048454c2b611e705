"""Times as every surface writes them (the console's pages and the notifications' emails alike): exact times
to the minute, in the active language's pattern and time zone, and the one rounding rule of "how long ago"."""

from datetime import datetime

from django.utils import timezone
from django.utils.translation import get_language

EXACT_TIME = {"bg": "%d.%m.%Y %H:%M", "en": "%Y-%m-%d %H:%M"}


def exact_time(moment) -> str:
    """To the minute in the viewer's time zone, with the zone's abbreviation: "06.12.2026 14:05 EET" in
    Bulgarian, "2026-12-06 12:05 UTC" in English (unambiguous: no month names, no a.m./p.m.)."""
    local = timezone.localtime(moment)
    pattern = EXACT_TIME.get((get_language() or "en").split("-")[0], EXACT_TIME["en"])
    return f"{local.strftime(pattern)} {local.tzname()}"


# Under this many seconds a moment is "just now" on every surface (the list, the timeline, the banner, the
# live sentences): none says "1 min ago" while another says "just now" of the same moment.
JUST_NOW_SECONDS = 60


def elapsed(moment: datetime, now: datetime | None = None) -> tuple[str, int]:
    """How long ago `moment` was, by the one rule: ("now", 0) under a minute, then whole minutes ("min"),
    hours ("h") or days ("d"), each rounded down. A moment in the future (clocks apart) is now."""
    seconds = int(((now or timezone.now()) - moment).total_seconds())
    if seconds < JUST_NOW_SECONDS:
        return "now", 0
    if seconds < 3600:
        return "min", seconds // 60
    if seconds < 86400:
        return "h", seconds // 3600
    return "d", seconds // 86400
