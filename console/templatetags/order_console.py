"""Template tags of the order console."""

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils import timezone
from django.utils.safestring import SafeString

from console import changelist
from console.changelist import html_format
from console.formatting import display_name, exact_time, short_ago

register = template.Library()


@register.filter(name="display_name")
def display_name_filter(user) -> str:
    """A person as every surface names them (orders.results.user_display_name): full name, or username."""
    return display_name(user)


@register.inclusion_tag("admin/change_list_results.html")
def order_result_list(cl):
    """Django's `result_list`, with the rows rendered by console.changelist."""
    return changelist.result_list(cl)


@register.inclusion_tag("console/filter_bar.html")
def order_filter_bar(cl) -> dict:
    """The list's filters as one bar: each a menu that says what it is set to (Django's block lists every
    choice of every filter, and pushed the first order half a screen down)."""
    filters = []
    for spec in cl.filter_specs:
        choices = list(spec.choices(cl))
        if not choices:
            continue
        chosen = next((choice for choice in choices if choice["selected"]), choices[0])
        # The first choice of every filter is "All" (or "Any date"): any other is a filter in use.
        filters.append(
            {"title": spec.title, "choices": choices, "chosen": chosen, "active": chosen is not choices[0]}
        )
    return {"cl": cl, "filters": filters}


@register.simple_tag
def order_timeline_entries(timeline) -> SafeString:
    """The <li> of each timeline entry, in one pass: a template loop over 200 entries cost a third of the
    order page. The markup is what the loop wrote (pinned by a test)."""
    items = []
    for entry in timeline:
        # As the order list writes times: how long ago, the exact time (the viewer's zone) on hover.
        when = html_format(
            '<time datetime="{}" title="{}">{}</time>',
            timezone.localtime(entry.at).isoformat(),
            exact_time(entry.at),
            ago(entry.at),
        )
        if entry.is_comment:
            who = display_name(entry.who)
            items.append(
                html_format(
                    '<li class="timeline-entry timeline-comment">{} <span class="timeline-author">{}</span>'
                    ' <div class="timeline-body">{}</div></li>',
                    when,
                    who,
                    linebreaksbr(entry.text, autoescape=True),
                )
            )
        else:
            reason = html_format(": <em>{}</em>", entry.reason) if entry.reason else ""
            items.append(
                html_format(
                    '<li class="timeline-entry timeline-system timeline-{}">{}'
                    ' <span class="timeline-system-text">⚙ {}{}</span></li>',
                    entry.kind,
                    when,
                    entry.text,
                    reason,
                )
            )
    return SafeString("\n".join(items))


@register.filter
def ago(moment) -> str:
    """ "3 h ago", or "just now": how the console says when something happened (console.formatting)."""
    return short_ago(moment)


@register.filter(name="exact_time")
def exact_time_filter(moment) -> str:
    """ "2026-12-01 08:58 UTC" ("01.12.2026 10:58 EET" in Bulgarian), in the viewer's time zone: the exact
    time behind an age, on hover."""
    return exact_time(moment)


@register.simple_tag
def submit_token() -> SafeString:
    """The hidden one-time token of a state-changing form (console/once.py)."""
    from console.once import FIELD, token_new

    return html_format('<input type="hidden" name="{}" value="{}">', FIELD, token_new())
