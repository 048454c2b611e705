"""Each person's language and time zone: the languages offered, the zones known, what a person chose and
saving a choice. The console applies them per request; the notification emails per recipient."""

import zoneinfo
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import transaction

from operators.models import OperatorPreference
from orderops.types import Actor


@dataclass(frozen=True)
class Preference:
    """A person's choice; blank is "not chosen" (the browser's language, the site's TIME_ZONE)."""

    language: str = ""
    time_zone: str = ""

    def as_session(self) -> list[str]:
        return [self.language, self.time_zone]

    @classmethod
    def from_session(cls, value: object) -> "Preference | None":
        if not isinstance(value, list) or len(value) != 2 or not all(isinstance(part, str) for part in value):
            return None
        return cls(language=value[0], time_zone=value[1])


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


@cache
def time_zone_names() -> tuple[str, ...]:
    """The IANA zones a person may choose (the system's or tzdata's), without the legacy aliases."""
    legacy = ("Etc/", "SystemV/", "US/", "posix/", "right/")
    regions = sorted(
        name for name in zoneinfo.available_timezones() if "/" in name and not name.startswith(legacy)
    )
    return (*regions, "UTC")


def zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone of a chosen name, None for blank or a name this system no longer knows."""
    if not name or name not in time_zone_names():
        return None
    return zoneinfo.ZoneInfo(name)


def preference_of(user_id: int) -> Preference:
    row = OperatorPreference.objects.filter(user_id=user_id).values_list("language", "time_zone").first()
    return Preference(*row) if row else Preference()


def preferences_of(user_ids: list[int]) -> dict[int, Preference]:
    """{user id: Preference} for the given people, in one query; those who never chose are left out."""
    rows = OperatorPreference.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "language", "time_zone"
    )
    return {user_id: Preference(language, time_zone) for user_id, language, time_zone in rows}


@dataclass(frozen=True)
class PreferenceResult:
    """code: "saved", "unknown_language" or "unknown_time_zone" (then nothing was saved)."""

    code: str
    preference: Preference


@transaction.atomic
def preference_set(*, actor: Actor, language: str, time_zone: str) -> PreferenceResult:
    """A person sets their own language and time zone (blank: back to the browser's and the site's)."""
    chosen = Preference(language=language, time_zone=time_zone)
    if language and language not in language_codes():
        return PreferenceResult("unknown_language", preference_of(actor.pk))
    if time_zone and zone(time_zone) is None:
        return PreferenceResult("unknown_time_zone", preference_of(actor.pk))
    OperatorPreference.objects.update_or_create(
        user_id=actor.pk, defaults={"language": language, "time_zone": time_zone}
    )
    return PreferenceResult("saved", chosen)
