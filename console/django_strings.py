"""Django's own sentences (admin, forms) that its Bulgarian catalogue leaves untranslated: listed here so that
makemessages keeps them in ours (locale/), which LOCALE_PATHS puts before Django's. Never imported."""

from django.utils.translation import gettext_noop

DJANGO_ADMIN = [
    gettext_noop("Run"),  # the list's action button
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("Pagination %(name)s entries"),
    gettext_noop("Pagination %(name)s"),
    gettext_noop("Search %(name)s"),
]
# Django's own forms: the empty choice of a select (new in Django 6.1, not yet in its Bulgarian catalogue).
DJANGO_FORMS = [gettext_noop("- Select an option -")]
