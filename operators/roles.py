"""The two roles and exactly the permissions each one needs."""

from orderops.conf import OPERATORS_GROUP, SUPERVISORS_GROUP

# Operators read everything in the console, change orders and their lines (the edit guard decides which
# orders), and comment. They neither create nor delete orders: those come from the store.
OPERATOR_PERMISSIONS: tuple[str, ...] = (
    "orders.view_order",
    "orders.change_order",
    "orders.view_orderline",
    "orders.add_orderline",
    "orders.change_orderline",
    "orders.delete_orderline",
    "orders.view_orderstatus",
    "orders.view_ordercomment",
    "orders.add_ordercomment",
    "operators.view_assignment",
    "operators.view_assignmentlog",
    # Who may hold orders: take them, claim the next one, be assigned them (operators.rules.may_hold).
    "operators.hold_orders",
)

# Supervisors can do all that, plus edit/release/take over orders held by others and assign to others.
SUPERVISOR_PERMISSIONS: tuple[str, ...] = (
    *OPERATOR_PERMISSIONS,
    "operators.override_hold",
    "operators.assign_others",
)

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    OPERATORS_GROUP: OPERATOR_PERMISSIONS,
    SUPERVISORS_GROUP: SUPERVISOR_PERMISSIONS,
}
