"""Create the Operators and Supervisors groups with exactly their permissions (safe to run again)."""

from django.core.management.base import BaseCommand

from operators.services import roles_setup


class Command(BaseCommand):
    help = "Create or update the Operators and Supervisors groups with exactly the permissions they need."

    def handle(self, *args, **options) -> None:
        for group_name, group in roles_setup().items():
            count = group.permissions.count()
            self.stdout.write(f"{group_name}: {count} permissions")
        self.stdout.write(self.style.SUCCESS("Roles are set up."))
