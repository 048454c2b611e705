"""The operator console on the Django admin: every screen, message and format of it, over the services."""
