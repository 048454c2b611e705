"""`Authorization: Bearer <key>`: the key acts as its user, with the same roles and the same holds."""

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from api.codes import ApiCode
from api.keys import api_key_find


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
            raise exceptions.AuthenticationFailed(
                _("This API key is unknown, revoked or expired."), code=ApiCode.UNAUTHENTICATED
            )
        if not api_key.user.is_active:
            raise exceptions.AuthenticationFailed(
                _("The account %(user)s is inactive.") % {"user": api_key.user.get_username()},
                code="inactive",
            )
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        # Makes an unauthenticated request a 401 with this challenge, not a 403.
        return f'{self.keyword} realm="api"'
