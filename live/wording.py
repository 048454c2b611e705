"""What a notification says, in the console and in its email: one sentence per kind, and its detail."""

from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from live.models import Notification
from orders.results import user_display_name

Kind = Notification.Kind


def _sentences() -> dict[str, str]:
    # Built per call: gettext answers in the language active now.
    return {
        Kind.TAKEN_OVER: _("%(actor)s took over %(order)s from you"),
        Kind.TRANSFERRED: _("%(actor)s transferred %(order)s to %(holder)s"),
        Kind.ASSIGNED: _("%(actor)s assigned %(order)s to you"),
        Kind.EXPIRED: _("Your hold on %(order)s expired"),
        Kind.CHANGED: _("%(actor)s changed your order %(order)s"),
        Kind.MENTIONED: _("%(actor)s mentioned you in a comment on %(order)s"),
        Kind.RELEASED: _("%(actor)s released your hold on %(order)s"),
    }


def _actor_name(notification: Notification) -> str:
    # No actor: the system (expiry, a command, an import; a change's detail says which fields and by what).
    return user_display_name(notification.actor)


def notification_sentence(notification: Notification, *, order: str | None = None) -> str:
    """The sentence as text, "Boris took over #1001 from you"; `order` replaces "#1001"."""
    values = {
        "actor": _actor_name(notification),
        "order": order or f"#{notification.order.number}",
        "holder": user_display_name(notification.holder),
    }
    return capfirst(_sentences()[notification.kind] % values)


def notification_sentence_html(notification: Notification, order_url: str) -> SafeString:
    """The sentence with the order's number as a link to its page, every part escaped."""
    link = mark_safe(f'<a href="{escape(order_url)}">#{escape(notification.order.number)}</a>')
    values = {
        "actor": conditional_escape(_actor_name(notification)),
        "order": link,
        "holder": conditional_escape(user_display_name(notification.holder)),
    }
    return mark_safe(capfirst(escape(_sentences()[notification.kind]) % values))


def notification_detail_label(notification: Notification) -> str:
    """What the detail is: the reason, the changes, the comment."""
    if not notification.detail:
        return ""
    if notification.kind == Kind.CHANGED:
        return _("Changed")
    if notification.kind == Kind.MENTIONED:
        return _("Comment")
    return _("Reason")
