"""Writing notifications: in the transaction of the change they report, set-based, never about one's own
action, with their emails queued in the outbox in the same transaction (DESIGN invariant 11).

The single writers send their events inside the change's transaction (orderops/events.py); the receivers
here turn them into rows. A hold change's notifications come from the assignment log rows just written, in
one INSERT ... SELECT whatever the number of orders; an order change notifies the orders' holders straight
from the holds table, read before any auto-release; a comment notifies the colleagues it @mentions. Each
batch of notifications then queues its emails in one more INSERT ... SELECT, for the recipients whose
preference (or the default, ORDEROPS["NOTIFICATION_EMAIL_KINDS"]) says email for that kind.
"""

import re
from collections.abc import Sequence

from django.contrib.auth import get_user_model
from django.db import connection
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from live.models import Notification, NotificationPreference, OutboxMessage
from operators import rules
from operators.models import Assignment, AssignmentLog
from orderops.conf import orderops_setting
from orderops.db import db_datetime, id_set_sql
from orderops.events import CommentAdded, HoldChanged, OrderChanged, domain_event_in_transaction
from orders.models import Order, OrderStatus
from orders.services import field_label

Kind = Notification.Kind
Action = AssignmentLog.Action

# Who hears of each kind of hold change: (the log row's column naming the recipient, the kind they get).
# A release notifies the holder when a colleague (a supervisor, or whoever assigned it) ended it, with the
# reason they had to give; a person's own release is their own action, and the status change that
# auto-releases notifies the holder as a change to their order.
HOLD_RECIPIENTS: dict[str, tuple[tuple[str, str], ...]] = {
    Action.ASSIGNED: (("operator_id", Kind.ASSIGNED),),
    Action.TAKEN_OVER: (("previous_operator_id", Kind.TAKEN_OVER),),
    Action.REASSIGNED: (("previous_operator_id", Kind.TRANSFERRED), ("operator_id", Kind.ASSIGNED)),
    Action.EXPIRED: (("operator_id", Kind.EXPIRED),),
    Action.RELEASED: (("operator_id", Kind.RELEASED),),
}
# Hold changes that notify only when a person made them: the system's releases (release_orders, an incident's
# clean-up of thousands of holds) are an operations step, announced by whoever runs it.
BY_A_PERSON_ONLY = frozenset({Action.RELEASED})

# "@anna" or "@anna.k" in a comment, not part of an address ("anna@example.com") and without the sentence's
# final punctuation. Usernames are Django's: letters, digits and @ . + - _.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]*[\w@+-])")
# At most this many people notified by one comment: a pasted list of every username is no mention.
MENTIONS_MAX = 20
# How much of a comment a mention's notification keeps.
EXCERPT_LENGTH = 300


def unread_count(user) -> int:
    """The bell's number: one count over the unread rows' partial index (notification_unread_idx)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def _insert_returning_ids(sql: str, params: list) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


INSERT_COLUMNS = "(recipient_id, kind, order_id, actor_id, holder_id, detail, created_at)"


def hold_change_notify(event: HoldChanged) -> list[int]:
    """Notify the people whose holds the log rows of `event` changed, except the one who changed them.
    No statement when nobody is to hear of it (a person taking or releasing orders for themselves)."""
    recipients = HOLD_RECIPIENTS.get(event.action, ())
    if event.actor_id is None and event.action in BY_A_PERSON_ONLY:
        return []
    concerned = [
        entry
        for entry in event.entries
        for column, _kind in recipients
        if (person := getattr(entry, column)) is not None and person != event.actor_id
    ]
    if not concerned:
        return []
    ids_sql, ids_params = id_set_sql(entry.log_id for entry in concerned)
    # One SELECT per recipient column, over the log rows just written: the person, never the actor.
    selects, params = [], []
    for column, kind in recipients:
        selects.append(
            f"SELECT {column}, %s, order_id, actor_id, operator_id, reason, at"
            f" FROM {AssignmentLog._meta.db_table} WHERE id IN ({ids_sql}) AND {column} IS NOT NULL"
            f" AND (actor_id IS NULL OR {column} <> actor_id)"
        )
        params += [str(kind), *ids_params]
    sql = (
        f"INSERT INTO {Notification._meta.db_table} {INSERT_COLUMNS} "
        + " UNION ALL ".join(selects)
        + " RETURNING id"
    )
    ids = _insert_returning_ids(sql, params)
    outbox_queue(ids)
    return ids


def _changed_detail(event: OrderChanged) -> str:
    """The fields changed ("customer name, lines"); a new status is named last, its label appended by the
    statement ("status now: Complete")."""
    text = ", ".join(field_label(name) for name in event.fields if name != "status")
    if event.source == "import":
        text = _("%(fields)s, by an import") % {"fields": text}
    elif event.source == "store" and event.store_name:
        by = _("by %(store)s") % {"store": event.store_name}
        text = f"{text}, {by}" if text else by
    if "status" in event.fields:
        text = (f"{text}; " if text else "") + _("status now: ")
    return text


def order_change_notify(event: OrderChanged) -> list[int]:
    """Notify the holders of the changed orders who did not change them themselves (a supervisor's edit, a
    status change, an import, an integration), in one INSERT ... SELECT from the holds. A status change
    says the new status."""
    ids_sql, ids_params = id_set_sql(event.order_ids)
    detail = _changed_detail(event)
    detail_sql = "%s || s.label" if "status" in event.fields else "%s"
    not_the_actor, actor_params = (
        ("", []) if event.actor_id is None else (" AND a.operator_id <> %s", [event.actor_id])
    )
    sql = (
        f"INSERT INTO {Notification._meta.db_table} {INSERT_COLUMNS}"
        f" SELECT a.operator_id, %s, a.order_id, %s, a.operator_id, {detail_sql}, %s"
        f" FROM {Assignment._meta.db_table} a"
        f" JOIN {Order._meta.db_table} o ON o.id = a.order_id"
        f" JOIN {OrderStatus._meta.db_table} s ON s.code = o.status_id"
        f" WHERE a.order_id IN ({ids_sql}){not_the_actor}"
        " RETURNING id"
    )
    params = [str(Kind.CHANGED), event.actor_id, detail, db_datetime(event.at), *ids_params, *actor_params]
    ids = _insert_returning_ids(sql, params)
    outbox_queue(ids)
    return ids


def mentioned_usernames(body: str) -> list[str]:
    """The usernames @mentioned in a comment, each once, in order of first mention."""
    names = dict.fromkeys(MENTION.findall(body or ""))
    return list(names)[:MENTIONS_MAX]


def mention_notify(event: CommentAdded) -> list[int]:
    """Notify each colleague the comment @mentions, if they exist, are active and may see orders; never
    its author."""
    names = mentioned_usernames(event.body)
    if not names:
        return []
    User = get_user_model()
    people = [
        person
        for person in User.objects.filter(**{f"{User.USERNAME_FIELD}__in": names}, is_active=True)
        .exclude(pk=event.actor_id)
        .order_by("pk")
        if rules.may_view_orders(person)
    ]
    if not people:
        return []
    excerpt = event.body if len(event.body) <= EXCERPT_LENGTH else event.body[: EXCERPT_LENGTH - 1] + "…"
    created = Notification.objects.bulk_create(
        [
            Notification(
                recipient=person,
                kind=Kind.MENTIONED,
                order_id=event.order_id,
                actor_id=event.actor_id,
                detail=excerpt,
                created_at=event.at,
            )
            for person in people
        ]
    )
    ids = [notification.pk for notification in created]
    outbox_queue(ids)
    return ids


def _email_default_sql(kinds: Sequence[str]) -> tuple[str, list]:
    if not kinds:
        return "(1 = 0)", []
    return f"(n.kind IN ({', '.join(['%s'] * len(kinds))}))", list(kinds)


def outbox_queue(notification_ids: Sequence[int]) -> int:
    """Queue an email for each of these notifications whose recipient has an address and wants email for
    its kind (their preference, else the default): one INSERT ... SELECT. The worker renders the text."""
    if not notification_ids:
        return 0
    User = get_user_model()
    ids_sql, ids_params = id_set_sql(notification_ids)
    default_sql, default_params = _email_default_sql(orderops_setting("NOTIFICATION_EMAIL_KINDS"))
    email = User.get_email_field_name()
    now = db_datetime(timezone.now())
    sql = (
        f"INSERT INTO {OutboxMessage._meta.db_table}"
        " (notification_id, to_address, subject, body, status, attempts, next_attempt_at, claim, last_error,"
        " created_at)"
        f" SELECT n.id, u.{email}, '', '', %s, 0, %s, '', '', %s"
        f" FROM {Notification._meta.db_table} n"
        f" JOIN {User._meta.db_table} u ON u.id = n.recipient_id"
        f" LEFT JOIN {NotificationPreference._meta.db_table} p"
        " ON p.user_id = n.recipient_id AND p.kind = n.kind"
        f" WHERE n.id IN ({ids_sql}) AND u.{email} <> '' AND u.is_active"
        f" AND COALESCE(p.email, {default_sql})"
    )
    params = [str(OutboxMessage.Status.PENDING), now, now, *ids_params, *default_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@receiver(domain_event_in_transaction, dispatch_uid="live.notifications")
def notify(sender, event, **kwargs) -> None:
    """Write the notifications an event calls for, inside its transaction: an error here rolls the change
    back with it."""
    if isinstance(event, HoldChanged):
        hold_change_notify(event)
    elif isinstance(event, OrderChanged):
        order_change_notify(event)
    elif isinstance(event, CommentAdded):
        mention_notify(event)
