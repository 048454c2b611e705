"""The form renderer (settings.FORM_RENDERER): Django's own form and widget templates rendered by Jinja2,
everything else by Django's template engine.

Django ships every one of its form and widget templates for both engines, with the same markup (its own
tests compare them); Jinja2 compiles a template to Python code and renders it in a fraction of the time. An
order page renders about thirty widgets (the order's fields, its lines, the hidden ids), which took a third
of the page's rendering with Django's engine. Templates Django ships for its engine only (the admin's
widgets: the related-object links, the date and time pickers) and the project's own keep Django's engine.
"""

from django.forms.renderers import DjangoTemplates, Jinja2
from django.template import TemplateDoesNotExist

DJANGO_FORMS = "django/forms/"


class FormRenderer(DjangoTemplates):
    def __init__(self) -> None:
        super().__init__()
        self.jinja2 = Jinja2()

    def get_template(self, template_name: str):
        if template_name.startswith(DJANGO_FORMS):
            try:
                return self.jinja2.get_template(template_name)
            except TemplateDoesNotExist:
                pass
        return super().get_template(template_name)
