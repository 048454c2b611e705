"""Writes of the order domain: status changes, edits and internal comments, all behind the edit guard."""

from collections.abc import Callable, Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orderops.conf import orderops_setting
from orderops.db import id_set
from orders.guard import orders_change_refusals
from orders.models import Order, OrderComment, OrderStatus
from orders.results import BulkResult, OrderLocked, OrderOutcome, Outcome, RequestRefused, unique_ids
from orders.selectors import orders_locked
from orders.signals import order_activity, order_status_changed


@transaction.atomic
def orders_status_set(
    *, actor: AbstractBaseUser | None, order_ids: Iterable[int], status_code: str, reason: str = ""
) -> BulkResult:
    """Set the status of many orders at once, each one guarded; entering a releasing status releases holds.

    `actor` None is the system (commands, imports): the guard lets it change any order, and the log names
    no person.

    Set-based: one UPDATE for all allowed orders, then `order_status_changed` in the same transaction.
    """
    ids = unique_ids(order_ids)
    new_status = OrderStatus.objects.filter(code=status_code).first()
    if new_status is None:
        raise RequestRefused(_("There is no order status %(code)r.") % {"code": status_code})
    locked = orders_locked(ids)
    refusals = orders_change_refusals(
        user=actor, orders=[(pk, number) for pk, (number, _s) in locked.items()]
    )

    outcomes, changing = [], []
    for pk in ids:
        if pk not in locked:
            outcomes.append(OrderOutcome(pk, Outcome.NOT_FOUND))
            continue
        number, status_code_now = locked[pk]
        if pk in refusals:
            outcomes.append(refusals[pk])
        elif status_code_now == new_status.code:
            outcomes.append(OrderOutcome(pk, Outcome.UNCHANGED, number, detail=new_status.label))
        else:
            outcomes.append(OrderOutcome(pk, Outcome.DONE, number))
            changing.append(pk)

    if changing:
        # update() sends no signal of its own: this function is the bulk path, and it sends the signal.
        Order.objects.filter(pk__in=id_set(changing)).update(status=new_status, updated_at=timezone.now())
        order_status_changed.send(
            sender=Order,
            order_ids=changing,
            old_status_codes={pk: locked[pk][1] for pk in changing},
            new_status=new_status,
            actor=actor,
            reason=reason,
        )
    return BulkResult(outcomes)


@transaction.atomic
def order_update(*, actor: AbstractBaseUser, order: Order, save: Callable[[], None] | None = None) -> Order:
    """Save changes a user made to one order, if the edit guard lets them, under the order's row lock.

    `save` writes the changes (the admin passes one that saves the form and its inlines); by default
    `order.save()`. A form loaded before someone else took the order is refused here, not saved.
    """
    locked = orders_locked([order.pk])
    if order.pk not in locked:
        raise RequestRefused(_("Order #%(number)s no longer exists.") % {"number": order.number})
    number = locked[order.pk][0]
    refusal = orders_change_refusals(user=actor, orders=[(order.pk, number)]).get(order.pk)
    if refusal is not None:
        raise OrderLocked(refusal)
    order.changed_by = actor
    (save or order.save)()
    order_activity.send(sender=Order, order_ids=[order.pk], actor=actor)
    return order


@transaction.atomic
def order_comment_add(*, actor: AbstractBaseUser, order_id: int, body: str) -> OrderComment:
    """Add an internal comment. Anyone who may view orders may comment on any order, held or not."""
    order = Order.objects.filter(pk=order_id).only("pk", "number").first()
    if order is None:
        raise RequestRefused(_("Order id %(id)s does not exist.") % {"id": order_id})
    if not (actor.is_active and actor.has_perm("orders.view_order")):
        raise RequestRefused(_("#%(number)s: you may not view this order.") % {"number": order.number})
    text = (body or "").strip()
    if not text:
        raise RequestRefused(_("#%(number)s: a comment cannot be empty.") % {"number": order.number})
    limit = orderops_setting("COMMENT_MAX_LENGTH")
    if len(text) > limit:
        raise RequestRefused(
            _("#%(number)s: a comment can have at most %(limit)s characters; this one has %(length)s.")
            % {"number": order.number, "limit": limit, "length": len(text)}
        )
    comment = OrderComment.objects.create(order=order, author=actor, body=text)
    order_activity.send(sender=OrderComment, order_ids=[order.pk], actor=actor)
    return comment
