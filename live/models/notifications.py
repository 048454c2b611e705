"""Notifications and their email outbox (owned by the notifications work; see issue 14, point 3)."""

__all__: list[str] = []
