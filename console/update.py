"""The order page's one submit: a comment and/or a status change (with the order's own fields when they were
edited too) and, for the holder, "release after update". The Update box and the order form's Save both end
here, so that one submit acts the same whichever button sent it.

The changes go through the edit service (orders.services.order_update: the guard, the version check, the
auto-release), the comment through the comment service, both in one transaction: a refusal of either lands
nothing, and the page keeps what was typed and chosen. The release comes last, through the release service.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from console.messages import run_and_report
from operators.models import Assignment
from operators.services import orders_release
from orders.models import Order
from orders.services import LinesChange, order_comment_add, order_update


def draft_key(order_id: int) -> str:
    """Where a refused update waits in the session for the order page to show it again."""
    return f"orderops:update-draft:{order_id}"


@dataclass(frozen=True)
class Draft:
    """What the Update box held: shown again when the submit was refused, with the reason beside it."""

    body: str = ""
    status: str = ""
    release_after: bool = False
    error: str = ""


def draft_keep(request: HttpRequest, order_id: int, draft: Draft) -> None:
    request.session[draft_key(order_id)] = {
        "body": draft.body,
        "status": draft.status,
        "release_after": draft.release_after,
        "error": draft.error,
    }


def draft_take(request: HttpRequest, order_id: int) -> Draft:
    """The draft waiting for this order's page (once), or what a re-shown order form posted."""
    kept = request.session.pop(draft_key(order_id), None) if hasattr(request, "session") else None
    if kept:
        return Draft(kept["body"], kept["status"], kept["release_after"], kept["error"])
    post = request.POST
    return Draft(
        post.get("update_comment", ""), post.get("update_status", ""), bool(post.get("update_release"))
    )


@dataclass(frozen=True)
class Updated:
    """What one submit did: the order as saved (None when nothing of the order itself changed), whether a
    comment was added, and whether the person held the order before and after."""

    saved: Order | None
    commented: bool
    held_before: bool
    held_after: bool

    @property
    def hold_ended(self) -> bool:
        return self.held_before and not self.held_after


def _holds(order_id: int, user_id: int | None) -> bool:
    return Assignment.objects.filter(order_id=order_id, operator_id=user_id).exists()


def order_page_submit(
    model_admin,
    request: HttpRequest,
    *,
    order: Order,
    version: int,
    changes: dict[str, Any],
    lines: LinesChange | None = None,
    body: str = "",
    release_after: bool = False,
    held_before: bool,
    from_update_box: bool = False,
) -> Updated:
    """Apply one submit of the order page and say what came of it (messages). Raises what the services
    refuse (OrderStale, OrderLocked, RequestRefused); nothing of the submit has landed then."""
    actor = request.user
    with transaction.atomic():
        saved = None
        if changes or lines:
            saved = order_update(
                actor=actor, order_id=order.pk, version=version, changes=changes, lines=lines
            )
        # The Update box sent with nothing else in it is a comment: the comment service refuses an empty one.
        commented = bool(body.strip()) or (from_update_box and not (changes or lines or release_after))
        if commented:
            order_comment_add(actor=actor, order_id=order.pk, body=body)
    number = saved.number if saved is not None else order.number
    held_after = held_before and _holds(order.pk, actor.pk)
    if saved is not None and held_before and not held_after:
        # The status said once, with what it did to the hold.
        model_admin.message_user(
            request,
            _("Your hold on #%(number)s ended: %(status)s is a final status.")
            % {"number": number, "status": saved.status.label},
            messages.INFO,
        )
    elif saved is not None and "status" in changes:
        model_admin.message_user(
            request,
            _("#%(number)s is now %(status)s.") % {"number": number, "status": saved.status.label},
            messages.SUCCESS,
        )
    if commented:
        model_admin.message_user(
            request, _("Your comment on #%(number)s was added.") % {"number": number}, messages.SUCCESS
        )
    if release_after and held_after:
        run_and_report(
            model_admin,
            request,
            lambda: orders_release(actor=actor, order_ids=[order.pk]),
            done=lambda count, orders: _("Released %(orders)s.") % {"orders": orders},
        )
        held_after = _holds(order.pk, actor.pk)
    return Updated(saved, commented, held_before, held_after)
