"""The console's login form: the admin's own, behind the login throttle (operators/login_throttle.py)."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from console.formatting import exact_time
from operators.login_throttle import (
    CONSOLE,
    Attempt,
    Lockout,
    client_address,
    login_attempt_begin,
    login_attempt_failed,
    login_attempt_succeeded,
    login_lockout,
    login_refused_log,
)


class ConsoleLoginForm(AdminAuthenticationForm):
    """Refuses an attempt unheard, the right password included, while its username or its address has too
    many recent failures, saying when to try again; counts every failure (a wrong password, or a staff check
    that fails) towards both, before the password is checked (so that attempts at once count exactly)."""

    def clean(self):
        username = (self.cleaned_data.get("username") or "").strip()
        address = client_address(self.request.META if self.request is not None else {})
        attempt: Attempt | Lockout | None
        if username:
            attempt = login_attempt_begin(username=username, address=address, surface=CONSOLE)
        else:  # no password is checked without a username: only a lockout of the address refuses it
            attempt = login_lockout(username="", address=address)
        if isinstance(attempt, Lockout):
            lockout = attempt
            login_refused_log(username=username, address=address, surface=CONSOLE, lockout=lockout)
            if lockout.by_username:
                message = _(
                    "Too many failed logins for %(username)s: logins for this username are refused until "
                    "%(time)s. Try again then, or ask an administrator to lift the lockout."
                ) % {"username": username, "time": exact_time(lockout.retry_at)}
            else:
                message = _(
                    "Too many failed logins from your address: logins from it are refused until %(time)s. "
                    "Try again then."
                ) % {"time": exact_time(lockout.retry_at)}
            raise ValidationError(message, code="throttled")
        if attempt is None:
            return super().clean()
        try:
            cleaned = super().clean()
        except ValidationError:
            login_attempt_failed(attempt)
            raise
        login_attempt_succeeded(attempt)
        return cleaned
