"""Console sessions end after ORDEROPS["SESSION_IDLE_TIMEOUT"] seconds without activity and SESSION_COOKIE_AGE
seconds after the login, whatever the activity. Activity is a page opened or a form sent: the background
requests of an open tab (polls, heartbeats, the bell: they ask for JSON only) keep nobody logged in."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from orderops.conf import orderops_setting

LOGIN_AT = "orderops_login_at"
SEEN_AT = "orderops_seen_at"
# "Last seen" is written at most this often (seconds): a session write per minute, not per request.
SEEN_PRECISION = 60


@receiver(user_logged_in)
def session_started(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[LOGIN_AT] = now
        request.session[SEEN_AT] = now


def is_background(request: HttpRequest) -> bool:
    """A tab's own poll: it asks for JSON and nothing else (a person's page asks for HTML)."""
    accept = request.headers.get("Accept", "")
    return "json" in accept and "html" not in accept


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Authorization" not in request.headers:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        session = request.session
        now = int(time.time())
        login_at = session.setdefault(LOGIN_AT, now)
        seen_at = session.setdefault(SEEN_AT, now)
        idle = orderops_setting("SESSION_IDLE_TIMEOUT")
        if now - seen_at > idle:
            reason = _(
                "You were logged out after %(minutes)s minutes without activity. Please log in again."
            ) % {"minutes": round(idle / 60)}
        elif now - login_at > settings.SESSION_COOKIE_AGE:
            reason = _("You were logged out %(hours)s hours after your login. Please log in again.") % {
                "hours": round(settings.SESSION_COOKIE_AGE / 3600)
            }
        else:
            if not is_background(request) and now - seen_at >= SEEN_PRECISION:
                session[SEEN_AT] = now
            return
        logout(request)
        messages.warning(request, reason)
