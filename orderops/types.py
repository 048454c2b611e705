"""Types the apps share: who acts on orders."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # The project's user model is auth.User (AUTH_USER_MODEL is not swapped): type checkers see its fields
    # and permissions; at run time any user instance is accepted.
    from django.contrib.auth.models import User as Actor
else:
    from django.contrib.auth.models import AbstractBaseUser as Actor

__all__ = ["Actor"]
