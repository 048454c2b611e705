"""The console's login form: the admin's own, behind the login throttle (operators/login_throttle.py)."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from console.formatting import exact_time
from operators.login_throttle import (
    CONSOLE,
    client_address,
    login_failure_record,
    login_lockout,
    login_refused_log,
)


class ConsoleLoginForm(AdminAuthenticationForm):
    """Refuses an attempt unheard, the right password included, while its username or its address has too
    many recent failures, saying when to try again; counts every failure (a wrong password, or a staff check
    that fails) towards both."""

    def clean(self):
        username = (self.cleaned_data.get("username") or "").strip()
        address = client_address(self.request.META if self.request is not None else {})
        lockout = login_lockout(username=username, address=address)
        if lockout is not None:
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
        try:
            return super().clean()
        except ValidationError:
            if username:
                login_failure_record(username=username, address=address, surface=CONSOLE)
            raise
