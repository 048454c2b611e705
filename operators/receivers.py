"""How the assignment domain reacts to the order domain's signals."""

from django.dispatch import receiver

from operators.services import holds_auto_release, holds_touch
from orders.signals import order_activity, order_status_changed


@receiver(order_status_changed, dispatch_uid="operators.auto_release")
def release_holds_on_final_status(
    sender, *, order_ids, new_status, actor, reason="", store_id=None, **kwargs
) -> None:
    """Auto-release: entering a status flagged releases_assignment ends the hold, whichever path set it (a
    connected store's change too: `store_id`)."""
    if new_status.releases_assignment:
        holds_auto_release(
            order_ids=order_ids, status=new_status, actor=actor, reason=reason, store_id=store_id
        )
    else:
        holds_touch(actor=actor, order_ids=order_ids)


@receiver(order_activity, dispatch_uid="operators.touch_holds")
def touch_holds_on_activity(sender, *, order_ids, actor, **kwargs) -> None:
    holds_touch(actor=actor, order_ids=order_ids)
