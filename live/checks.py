"""System checks of the notifications' settings that only the live app can judge: the kinds named, and the
outbox's claim against the email timeout."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from live.models import Notification
from orderops.conf import DEFAULTS


@register("orderops")
def check_notification_settings(app_configs=None, **kwargs) -> list:
    configured = getattr(settings, "ORDEROPS", {})
    if not isinstance(configured, dict):
        return []  # operators/checks.py reports it
    problems = _check_lease(configured)
    kinds = configured.get("NOTIFICATION_EMAIL_KINDS", DEFAULTS["NOTIFICATION_EMAIL_KINDS"])
    # A value of another shape is reported by operators/checks.py.
    unknown = (
        [kind for kind in kinds if kind not in Notification.Kind.values]
        if isinstance(kinds, list | tuple)
        else []
    )
    if unknown:
        problems.append(
            Error(
                f"ORDEROPS['NOTIFICATION_EMAIL_KINDS'] names kinds of notification that do not exist: "
                f"{', '.join(map(str, unknown))}.",
                hint=f"Known kinds: {', '.join(Notification.Kind.values)}.",
                id="orderops.E006",
            )
        )
    return problems


def _check_lease(configured: dict) -> list:
    """A worker's claim on a message must outlast its longest send, or a second worker may send it too."""
    lease = configured.get("OUTBOX_LEASE", DEFAULTS["OUTBOX_LEASE"])
    mailer = getattr(settings, "MAILERS", {}).get("default", {})
    if not mailer.get("BACKEND", "").endswith("smtp.EmailBackend"):
        return []  # the console, locmem and file backends do not wait on a server
    timeout = mailer.get("OPTIONS", {}).get("timeout")
    if not isinstance(lease, int | float) or isinstance(lease, bool):
        return []  # operators/checks.py reports it
    if timeout is not None and timeout < lease:
        return []
    return [
        Warning(
            f"The SMTP timeout ({timeout!r} s, EMAIL_TIMEOUT) should be shorter than "
            f"ORDEROPS['OUTBOX_LEASE'] ({lease!r} s).",
            hint=(
                "A send that outlasts its worker's claim on the message lets another worker send it again; "
                "set EMAIL_TIMEOUT (the EMAIL_TIMEOUT environment variable) below the lease."
            ),
            id="orderops.W002",
        )
    ]
