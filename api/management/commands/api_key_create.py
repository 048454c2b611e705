"""Create an API key for a user and print it once: only its hash is kept."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.keys import api_key_create, duration_parse


class Command(BaseCommand):
    help = "Create an API key for a user; the key is printed once and cannot be shown again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", required=True, help="username of the key's user (the key acts as them)")
        parser.add_argument("--name", required=True, help="what the key is for, e.g. 'shop sync'")
        parser.add_argument("--expires", help="lifetime such as 90d, 12h or 30m (default: never expires)")

    def handle(self, *args, **options) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"There is no user {options['user']!r}. No key was created.")
        name = options["name"].strip()
        if not name or len(name) > 100:
            raise CommandError("--name must be 1 to 100 characters. No key was created.")
        try:
            expires_in = duration_parse(options["expires"]) if options["expires"] else None
        except ValueError as error:
            raise CommandError(f"--expires: {error}. No key was created.") from None
        created = api_key_create(user=user, name=name, expires_in=expires_in)
        self.stdout.write(created.secret)
        expires = created.api_key.expires_at.isoformat() if created.api_key.expires_at else "never"
        self.stderr.write(
            f"API key {created.api_key.prefix} ({name!r}) for {user.get_username()}, expires: {expires}."
            " Store it now: it is not shown again."
        )
