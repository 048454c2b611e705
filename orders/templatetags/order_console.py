"""Template tags of the order console."""

from django import template

from orders import changelist

register = template.Library()


@register.inclusion_tag("admin/change_list_results.html")
def order_result_list(cl):
    """Django's `result_list`, with the rows rendered by orders.changelist."""
    return changelist.result_list(cl)
