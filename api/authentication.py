"""`Authorization: Bearer <key>`: the key acts as its user, with the same roles and the same holds."""

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from api.codes import ApiCode
from api.keys import api_key_find
from operators import rules
from operators.login_throttle import API, Lockout, client_address, login_attempt_begin, login_attempt_failed
from orders.results import Code


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # no key: the session may still authenticate the request
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("The Authorization header must be 'Bearer <key>'."), code=ApiCode.UNAUTHENTICATED
            )
        try:
            presented = header[1].decode("ascii")
        except UnicodeDecodeError:
            presented = ""
        api_key = api_key_find(presented)
        if api_key is None:
            # Counted as a failed login from this address (operators/login_throttle.py), exactly however many
            # arrive at once; past the limit the address is answered 429 until its failures leave the window.
            # A valid key is never held up.
            address = client_address(request.META)
            attempt = login_attempt_begin(username="", address=address, surface=API)
            if isinstance(attempt, Lockout):
                lockout = attempt
                throttled = exceptions.Throttled(
                    wait=lockout.retry_after,
                    detail=_(
                        "Too many failed authentications from your address: keys from it are refused "
                        "until %(time)s UTC."
                    )
                    % {"time": lockout.retry_at.strftime("%Y-%m-%d %H:%M:%S")},
                )
                raise throttled
            login_attempt_failed(attempt)
            raise exceptions.AuthenticationFailed(
                _("This API key is unknown, revoked or expired."), code=ApiCode.UNAUTHENTICATED
            )
        # A key acts only while its user could log in to the console (the rule book decides).
        refusal = rules.console_refusal(api_key.user)
        if refusal is not None:
            if refusal.code == Code.INACTIVE:
                message = _("The account %(user)s is inactive.") % {"user": api_key.user.get_username()}
            else:
                message = _("This API key is suspended: %(reason)s.") % {"reason": refusal.message}
            raise exceptions.AuthenticationFailed(message, code=str(refusal.code))
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        # Makes an unauthenticated request a 401 with this challenge, not a 403.
        return f'{self.keyword} realm="api"'
