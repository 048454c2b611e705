"""What the console tells the person after a change: counts, the orders named, refusals grouped by reason."""

from collections import defaultdict
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console.formatting import display_name
from operators import rules
from orders.results import BulkResult, OrderOutcome, Outcome, RequestRefused

# How many order numbers one message lists before it says "and N more".
MAX_LISTED = 10

# done(count, orders) words a success, e.g. "Assigned 3 orders to you: #1, #2 and #3."
Done = Callable[[int, str], str]


def order_labels(outcomes: list[OrderOutcome]) -> str:
    labels = [item.label for item in outcomes[:MAX_LISTED]]
    rest = len(outcomes) - len(labels)
    if rest:
        return _("%(orders)s and %(count)s more") % {"orders": ", ".join(labels), "count": rest}
    if len(labels) > 1:
        return _("%(orders)s and %(last)s") % {"orders": ", ".join(labels[:-1]), "last": labels[-1]}
    return labels[0]


def refusal_sentence(outcome: Outcome, items: list[OrderOutcome], user, *, editing: bool = False) -> str:
    """One sentence for orders refused alike (the same outcome, holder and detail), naming them. `editing`:
    the request changed the orders themselves (a status), not their holds."""
    first = items[0]
    count = len(items)
    names = {"orders": order_labels(items), "detail": first.detail}
    holder = first.holder
    if holder is not None:
        names["holder"] = display_name(holder, viewer_id=user.pk)
    if outcome == Outcome.HELD_BY:
        return (
            ngettext("%(orders)s is held by %(holder)s.", "%(orders)s are held by %(holder)s.", count) % names
        )
    if outcome == Outcome.ALREADY_YOURS:
        if holder is None or holder.pk == user.pk:
            return ngettext("%(orders)s is already yours.", "%(orders)s are already yours.", count) % names
        return (
            ngettext(
                "%(orders)s is already held by %(holder)s.",
                "%(orders)s are already held by %(holder)s.",
                count,
            )
            % names
        )
    if outcome == Outcome.NOT_HELD and first.detail:
        # The edit guard: changing an order needs its hold first; say what the person can do about it.
        if rules.may_hold(user):
            return (
                ngettext(
                    "%(orders)s: nobody holds it; assign it to yourself first.",
                    "%(orders)s: nobody holds them; assign them to yourself first.",
                    count,
                )
                % names
            )
        return (
            ngettext(
                "%(orders)s: nobody holds it, and only operators and supervisors can take orders.",
                "%(orders)s: nobody holds them, and only operators and supervisors can take orders.",
                count,
            )
            % names
        )
    if outcome == Outcome.NOT_HELD:
        return (
            ngettext("%(orders)s is not held by anyone.", "%(orders)s are not held by anyone.", count) % names
        )
    if outcome == Outcome.NOT_FOUND:
        return ngettext("%(orders)s no longer exists.", "%(orders)s no longer exist.", count) % names
    if outcome == Outcome.FINAL_STATUS and editing:
        # Nobody can take such an order to change it: say who can, instead of "assign it first".
        return (
            ngettext(
                "%(orders)s is %(detail)s: only a supervisor can change or reopen a finished order.",
                "%(orders)s are %(detail)s: only a supervisor can change or reopen finished orders.",
                count,
            )
            % names
        )
    if outcome == Outcome.FINAL_STATUS:
        return (
            ngettext(
                "%(orders)s is %(detail)s: an order in a final status cannot be held.",
                "%(orders)s are %(detail)s: orders in a final status cannot be held.",
                count,
            )
            % names
        )
    if outcome == Outcome.AT_CAPACITY:
        return (
            ngettext("%(orders)s was not taken: %(detail)s.", "%(orders)s were not taken: %(detail)s.", count)
            % names
        )
    if outcome == Outcome.UNCHANGED:
        return (
            ngettext("%(orders)s is already %(detail)s.", "%(orders)s are already %(detail)s.", count) % names
        )
    return _("%(orders)s: %(detail)s.") % names


def report_result(
    model_admin, request: HttpRequest, result: BulkResult, *, done: Done, editing: bool = False
) -> None:
    """One success message (how many, which), then one message per kind of refusal, naming the orders."""
    done_items = result.done
    if done_items:
        model_admin.message_user(request, done(len(done_items), order_labels(done_items)), messages.SUCCESS)
    groups: dict[tuple, list[OrderOutcome]] = defaultdict(list)
    for item in result.not_done:
        holder_id = item.holder.pk if item.holder is not None else None
        groups[(item.outcome, holder_id, item.detail)].append(item)
    for (outcome, _holder_id, _detail), items in groups.items():
        level = messages.INFO if outcome in (Outcome.ALREADY_YOURS, Outcome.UNCHANGED) else messages.WARNING
        if not done_items and level == messages.WARNING:
            level = messages.ERROR
        sentence = refusal_sentence(outcome, items, request.user, editing=editing)
        model_admin.message_user(request, sentence, level)


def run_and_report(
    model_admin, request: HttpRequest, service: Callable[[], BulkResult], *, done: Done, editing: bool = False
) -> None:
    """Call a service and tell the person what came of it: a refused request as one error, otherwise each
    order's outcome (report_result)."""
    try:
        result = service()
    except RequestRefused as refusal:
        model_admin.message_user(request, refusal.message, messages.ERROR)
        return
    report_result(model_admin, request, result, done=done, editing=editing)
