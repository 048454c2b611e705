"""Every state-changing submit happens once: forms carry a one-time token (`{% submit_token %}`), and this
middleware performs a token's request once and answers a repeat with the first one's result.

Buttons also disable themselves on submit (console.js), but a double click can still send two requests, a
slow network can re-send one, and a browser's back button can post a form again: the server is the
guarantee. The token's row is written in the request's transaction before the view runs, so the unique key
serializes two submits of one token on PostgreSQL (the second waits for the first to commit) and SQLite (one
writer at a time); a request that fails leaves no token behind, so trying again acts.
"""

import secrets
from collections.abc import Callable
from datetime import timedelta

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone

from console.models import SubmitToken

FIELD = "submit_token"
# Tokens are kept this long: a repeat after that is a new submit (the form is long stale by then).
KEPT = timedelta(days=1)


def token_new() -> str:
    return secrets.token_urlsafe(24)


def _queued(request: HttpRequest) -> list[list]:
    storage = getattr(request, "_messages", None)
    return [
        [item.level, str(item.message), item.extra_tags] for item in getattr(storage, "_queued_messages", [])
    ]


class SubmitOnceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = request.POST.get(FIELD, "") if request.method == "POST" else ""
        if not token or not request.user.is_authenticated or len(token) > 64:
            return self.get_response(request)
        with transaction.atomic():
            # This person's tokens too old to be repeated are forgotten as new ones come (an index range).
            SubmitToken.objects.filter(user=request.user, created_at__lt=timezone.now() - KEPT).delete()
            try:
                with transaction.atomic():
                    record = SubmitToken.objects.create(token=token, user=request.user)
            except IntegrityError:
                return self._repeat(request, token)
            response = self.get_response(request)
            if isinstance(response, HttpResponseRedirect):
                record.location = response["Location"]
                record.messages = _queued(request)
                record.save(update_fields=["location", "messages"])
            else:
                # A page shown again (a form with an error) changed nothing: its token stays usable.
                record.delete()
        return response

    def _repeat(self, request: HttpRequest, token: str) -> HttpResponse:
        first = SubmitToken.objects.filter(token=token, user_id=int(request.user.pk or 0)).first()
        if first is None or not first.location:
            return self.get_response(request)
        # The first answer's messages, unless they are still waiting to be shown (a repeat sent after the
        # first answer arrived carries them already).
        storage = getattr(request, "_messages", None)
        waiting = {(item.level, str(item.message)) for item in getattr(storage, "_loaded_messages", [])}
        for level, text, tags in first.messages:
            if (level, text) not in waiting:
                messages.add_message(request, level, text, extra_tags=tags)
        return HttpResponseRedirect(first.location)
