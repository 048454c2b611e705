"""The order list's rows, rendered in one pass: the same HTML as the admin's `items_for_result`, for a
fraction of the cost.

Django renders every cell through a generic path (look the name up as a field, then as a method; escape;
build the row's change URL with its preserved filters through `reverse` and a query-string merge): 70 cells
on a page of 100 orders made a third of the page's time (bench/RESULTS.md). Here each
column is resolved once per page and each row's link is a string substitution. Columns this module does not
know (a field, a list_editable form) fall back to Django's own renderer for the whole page.
"""

import html

from django.contrib.admin.templatetags.admin_list import ResultList, items_for_result, result_headers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import quote
from django.core.exceptions import ObjectDoesNotExist
from django.db.models.constants import LOOKUP_SEP
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

PK_PLACEHOLDER = "0rderops-pk-placeholder"  # survives reverse() and urlencode unchanged


def html_format(template: str, *args) -> SafeString:
    """Django's format_html for the list's hot path, with the same escaping: an object with __html__ as it
    is, anything else through html.escape (as django.utils.html.escape). It skips the check for lazy
    arguments that Django's escape makes on every call: a page of 100 orders formats about 1,300 times, and
    that check was a quarter of the rows' time."""
    return SafeString(
        template.format(
            *(arg.__html__() if hasattr(arg, "__html__") else html.escape(str(arg)) for arg in args)
        )
    )


def result_list(cl) -> dict:
    """The context of admin/change_list_results.html, as Django's `result_list` tag builds it."""
    headers = list(result_headers(cl))
    rows = _fast_rows(cl)
    if rows is None:
        rows = [ResultList(None, items_for_result(cl, result, None)) for result in cl.result_list]
    return {
        "cl": cl,
        "result_hidden_fields": [],
        "result_headers": headers,
        "num_sorted_fields": sum(1 for header in headers if header["sortable"] and header["sorted"]),
        "results": rows,
    }


def _fast_rows(cl) -> list[ResultList] | None:
    if cl.formset or cl.is_popup or cl.to_field or cl.list_display_links is None:
        return None
    model_admin = cl.model_admin
    columns = []
    for name in cl.list_display:
        method = getattr(model_admin, name, None) if isinstance(name, str) else None
        if not callable(method) or LOOKUP_SEP in name or getattr(method, "boolean", False):
            return None  # a model field, a relation path, a boolean icon: Django's renderer knows those
        css = "action-checkbox" if name == "action_checkbox" else f"field-{name}"
        empty = getattr(method, "empty_value_display", model_admin.get_empty_value_display())
        columns.append((method, SafeString(f' class="{css}"'), name in cl.list_display_links, empty))
    if not any(link for _method, _css, link, _empty in columns):
        return None
    url = reverse(
        f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change",
        args=(PK_PLACEHOLDER,),
        current_app=model_admin.admin_site.name,
    )
    url = add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url)
    url = conditional_escape(url)
    rows = []
    for result in cl.result_list:
        cells, first = [], True
        for method, css, link, empty in columns:
            try:
                value = method(result)
            except ObjectDoesNotExist:
                value = None
            if isinstance(value, str) and not isinstance(value, SafeString):
                value = value.strip()
            shown = empty if value in ("", None) else value
            if link:
                tag = "th" if first else "td"
                first = False
                href = url.replace(PK_PLACEHOLDER, quote(str(result.pk)))
                shown = html_format('<a href="{}">{}</a>', mark_safe(href), shown)
                cells.append(html_format("<{}{}>{}</{}>", tag, css, shown, tag))
            else:
                cells.append(html_format("<td{}>{}</td>", css, shown))
        rows.append(ResultList(None, cells))
    return rows
