"""One structured log line per service call (logger "orderops"): the action, the actor, and how many
orders ended in each outcome, or the refusal's code."""

import functools
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("orderops")


def _actor_name(actor: Any) -> str | None:
    return actor.get_username() if actor is not None else None


def _counts(result: Any) -> dict[str, int]:
    outcomes = getattr(result, "outcomes", None)
    if outcomes is not None:
        counts: dict[str, int] = {}
        for item in outcomes:
            counts[str(item.outcome)] = counts.get(str(item.outcome), 0) + 1
        return counts
    outcome = getattr(result, "outcome", None)
    return {str(outcome): 1} if outcome is not None else {"done": 1}


def service_logged(action: str) -> Callable:
    """Decorate a service: after it returns, log its outcome counts; when it refuses, log the code."""

    def decorate(service: Callable) -> Callable:
        @functools.wraps(service)
        def call(*args: Any, **kwargs: Any) -> Any:
            actor = _actor_name(kwargs.get("actor"))
            try:
                result = service(*args, **kwargs)
            except Exception as error:
                code = getattr(error, "code", None)
                if code is not None:
                    logger.info(
                        "%s refused: %s",
                        action,
                        code,
                        extra={"action": action, "actor": actor, "refused": str(code)},
                    )
                raise
            counts = _counts(result)
            logger.info(
                "%s by %s: %s",
                action,
                actor or "the system",
                ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items())) or "nothing",
                extra={"action": action, "actor": actor, "outcomes": counts},
            )
            return result

        return call

    return decorate
