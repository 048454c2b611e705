"""The form renderer (orderops/forms_renderer.py): Django's form and widget templates by Jinja2, every other
template by Django's engine, with the markup of Django's own renderer."""

import re

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminDateWidget, RelatedFieldWidgetWrapper
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.template.backends.django import Template as DjangoTemplate
from django.template.backends.jinja2 import Template as Jinja2Template

from orderops.forms_renderer import FormRenderer
from orders.models import Order

pytestmark = pytest.mark.django_db


class EveryWidget(forms.Form):
    text = forms.CharField(initial="Müller & <Sons>", max_length=20)
    email = forms.EmailField(required=False)
    number = forms.DecimalField(initial="12.50", min_value=0)
    hidden = forms.IntegerField(widget=forms.HiddenInput, initial=3)
    flag = forms.BooleanField(required=False, initial=True)
    choice = forms.ChoiceField(choices=[("a", "A & B"), ("b", "<b>")], initial="b")
    many = forms.MultipleChoiceField(choices=[("x", "X"), ("y", "Y")], widget=forms.CheckboxSelectMultiple)
    notes = forms.CharField(widget=forms.Textarea, required=False)
    day = forms.DateField(widget=AdminDateWidget, required=False)


def spaced(html: str) -> str:
    """Markup without the whitespace next to tags, and other runs of it folded into one space: the engines
    differ only there (between a select's options, before a checkbox's label text), where a browser shows
    the same."""
    return re.sub(r"\s*([<>])\s*", r"\1", re.sub(r"\s+", " ", html)).strip()


def test_it_is_the_renderer_in_use():
    assert isinstance(get_default_renderer(), FormRenderer)


def test_django_s_widgets_render_with_jinja2_and_the_rest_with_django_s_engine():
    renderer = FormRenderer()
    assert isinstance(renderer.get_template("django/forms/widgets/text.html"), Jinja2Template)
    assert isinstance(renderer.get_template("django/forms/div.html"), Jinja2Template)
    # Templates Django ships for its own engine only, and the project's, keep it.
    assert isinstance(renderer.get_template("admin/widgets/date.html"), DjangoTemplate)
    assert isinstance(renderer.get_template("admin/widgets/related_widget_wrapper.html"), DjangoTemplate)


@pytest.mark.parametrize("bound", [False, True], ids=["unbound", "with errors"])
def test_a_form_renders_the_same_markup_as_with_django_s_renderer(bound):
    data = {"text": "x" * 30, "number": "-1", "choice": "zzz", "hidden": "3"} if bound else None
    ours = EveryWidget(data, renderer=FormRenderer())
    django = EveryWidget(data, renderer=DjangoTemplates())
    if bound:
        assert not ours.is_valid() and not django.is_valid()
    assert spaced(str(ours)) == spaced(str(django))
    if not bound:
        assert "Müller &amp; &lt;Sons&gt;" in str(ours)  # escaped, as by Django's engine
    assert spaced(ours["day"].as_widget()) == spaced(django["day"].as_widget())


def test_the_order_form_and_its_related_widgets_render_as_before(operator):
    order = Order.objects.create(number="R-1", status_id="pending", customer_name="Anna <b>")
    fields = ["number", "status", "customer_name", "customer_email", "grand_total"]
    form_class = forms.modelform_factory(Order, fields=fields)
    ours, django = form_class(instance=order, renderer=FormRenderer()), form_class(instance=order)
    django.renderer = DjangoTemplates()
    assert spaced(str(ours)) == spaced(str(django))
    relation = Order._meta.get_field("status").remote_field
    wrapped = [
        RelatedFieldWidgetWrapper(ours.fields["status"].widget, relation, admin.site).render(
            "status", "pending", renderer=renderer
        )
        for renderer in (FormRenderer(), DjangoTemplates())
    ]
    assert 'name="status"' in wrapped[0] and spaced(wrapped[0]) == spaced(wrapped[1])
