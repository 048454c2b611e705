"""The live console's models: presence (who has which order open) and notifications (with their outbox)."""

from live.models.notifications import *  # noqa: F403
from live.models.presence import *  # noqa: F403
