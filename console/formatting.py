"""How the console writes times and people: ages, hold durations, exact times, display names."""

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.translation import gettext as _

from orderops.types import Actor
from orders.results import user_display_name


def short_age(moment) -> str:
    """How long ago, in one short unit: "5 min", "3 h", "2 d"."""
    seconds = max(int((timezone.now() - moment).total_seconds()), 0)
    if seconds < 3600:
        return _("%(count)s min") % {"count": max(seconds // 60, 1)}
    if seconds < 86400:
        return _("%(count)s h") % {"count": seconds // 3600}
    return _("%(count)s d") % {"count": seconds // 86400}


def time_ago(moment) -> str:
    """How long ago `moment` was, in words: "just now" for the first minute (naturaltime would say "now"),
    then "5 minutes ago", "2 hours ago", "3 days ago"."""
    if (timezone.now() - moment).total_seconds() < 60:
        return _("just now")
    return naturaltime(moment)


def exact_time(moment) -> str:
    """To the minute in the current time zone, "2026-11-26 16:13 UTC": unambiguous in any language. The
    list writes two per row, and `date_format` interprets a format string per call."""
    local = timezone.localtime(moment)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def display_name(user: Actor | None, *, viewer_id: int | None = None) -> str:
    """A person as the console names them: "you" to the viewer themselves, otherwise the full name or the
    username; "the system" for no one (a change no person made)."""
    if user is not None and viewer_id is not None and user.pk == viewer_id:
        return _("you")
    return user_display_name(user)
