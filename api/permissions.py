"""Who may call the API at all, asked of the rule book (operators.rules); each order's answer is the
services'."""

from rest_framework import permissions

from operators import rules

ADD_ORDER = "orders.add_order"


class MayViewOrders(permissions.BasePermission):
    """Anyone active who may view orders (the rule book's comment rule: comments are open to them all)."""

    message = "You may not view orders."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        refusal = rules.comment_refusal(user)
        if refusal is not None:
            self.message = refusal.message
            return False
        return True


class MayAddOrders(permissions.BasePermission):
    """The ingest: the store's integration, a user with orders.add_order (no role carries it)."""

    message = "Creating and upserting orders needs the permission orders.add_order."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.has_perm(ADD_ORDER))
