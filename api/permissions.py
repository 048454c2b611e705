"""Who may call the API at all, asked of the rule book (operators.rules); each order's answer is the
services'."""

from rest_framework import permissions

from operators import rules


class MayViewOrders(permissions.BasePermission):
    """Anyone active who may view orders (the rule book's view rule)."""

    message = "You may not view orders."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        refusal = rules.view_refusal(user)
        if refusal is not None:
            self.message = refusal.message
            return False
        return True


class MayIngestOrders(permissions.BasePermission):
    """The ingest (create and upsert from the store's data): the rule book's ingest rule."""

    message = "You may not create or upsert orders."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        refusal = rules.ingest_refusal(user)
        if refusal is not None:
            self.message = refusal.message
            return False
        return True
