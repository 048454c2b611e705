"""Setting up the role groups with exactly their permissions."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from operators.roles import ROLE_PERMISSIONS


@transaction.atomic
def roles_setup() -> dict[str, Group]:
    """Create the role groups (idempotent) and give each exactly its permissions, removing any others."""
    groups = {}
    for group_name, permission_names in ROLE_PERMISSIONS.items():
        wanted = Q(pk__in=[])
        for name in permission_names:
            app_label, codename = name.split(".")
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        permissions = list(Permission.objects.filter(wanted).select_related("content_type"))
        missing = set(permission_names) - {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
        if missing:
            raise LookupError(f"Permissions missing from the database (run migrate first): {sorted(missing)}")
        group, _created = Group.objects.get_or_create(name=group_name)
        group.permissions.set(permissions)
        groups[group_name] = group
    return groups
