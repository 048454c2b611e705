"""Forget the recent failed logins of a username or an address, so that it may log in again before its
lockout ends (operators/login_throttle.py): for the person who was locked out by someone else's guesses."""

from django.core.management.base import BaseCommand, CommandError

from operators.login_throttle import login_failures_forget


class Command(BaseCommand):
    help = "Let a username or an address locked out by failed logins log in again now."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="", help="the username whose failures to forget")
        parser.add_argument("--address", default="", help="the client address whose failures to forget")

    def handle(self, *args, username: str, address: str, **options) -> None:
        if not username and not address:
            raise CommandError("Name a --username, an --address, or both.")
        forgotten = login_failures_forget(username=username, address=address)
        self.stdout.write(f"{forgotten} failed login(s) forgotten; the lockout is lifted.")
