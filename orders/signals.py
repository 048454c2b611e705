"""Signals the order domain sends, so that other apps (operators) can react without orders importing them."""

from django.dispatch import Signal

# Sent inside the transaction that changed the status of one or more orders, by every path: the status
# service (bulk) and Order.save() (single). Arguments:
#   order_ids: list[int]            the orders whose status changed
#   old_status_codes: dict[int,str] each order's status before
#   new_status: OrderStatus         the status they entered
#   actor: User | None              who changed it (None: the system)
#   reason: str                     why, when the caller said
#   store_id: int | None            the connected store that changed it (optional; actor is then None)
order_status_changed = Signal()

# Sent inside the transaction in which a user worked on orders (edited, commented). Arguments:
#   order_ids: list[int], actor: User
order_activity = Signal()
