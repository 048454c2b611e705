"""Revoke an API key by its prefix."""

from django.core.management.base import BaseCommand, CommandError

from api.keys import api_key_revoke


class Command(BaseCommand):
    help = "Revoke the API key with this prefix (the part after oo_, shown in the admin)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args, **options) -> None:
        prefix = options["prefix"].strip().removeprefix("oo_")
        if not api_key_revoke(prefix=prefix):
            raise CommandError(f"There is no unrevoked API key with prefix {prefix!r}.")
        self.stdout.write(f"API key {prefix} revoked.")
