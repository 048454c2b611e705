"""A one-line progress bar for management commands, drawn on stderr only when stderr is a terminal."""

import sys
import time
from io import TextIOBase
from typing import TextIO

# sys.stderr, or a Django command's OutputWrapper (a TextIOBase).
Stream = TextIO | TextIOBase

BAR_WIDTH = 30
# Redraw at most this often: a bar redrawn for every batch of a fast command costs more than it shows.
REDRAW_SECONDS = 0.2


class Progress:
    """`with Progress(total, "releasing") as progress: progress.advance(n)`.

    Draws nothing when the stream is not a terminal (cron, pipes, tests) or when `enabled` is False, so
    that output there is the command's summary and nothing else. `total` may be in any unit (holds, bytes).
    """

    def __init__(self, total: int, label: str, *, stream: Stream | None = None, enabled: bool = True) -> None:
        self.stream = stream if stream is not None else sys.stderr
        # Django's OutputWrapper (a command's self.stderr) ends every write with a newline and colours it;
        # the bar redraws one line in place, so it writes to the stream the wrapper wraps.
        self._terminal = getattr(self.stream, "_out", self.stream)
        self.total = max(int(total), 0)
        self.label = label
        self.done = 0
        self.active = enabled and self.total > 0 and is_terminal(self.stream)
        self._drawn_at = 0.0
        self._started = time.monotonic()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc_info) -> None:
        self.finish()

    def advance(self, amount: int = 1) -> None:
        self.update(self.done + amount)

    def update(self, done: int) -> None:
        self.done = min(max(done, 0), self.total) if self.total else done
        if self.active and time.monotonic() - self._drawn_at >= REDRAW_SECONDS:
            self._draw()

    def note(self, text: str, stream: Stream | None = None) -> None:
        """Write a line of text (a problem found on the way) without tearing the bar apart."""
        self.clear()
        target = stream if stream is not None else self.stream
        target.write(text if text.endswith("\n") else text + "\n")
        if self.active:
            self._draw()

    def clear(self) -> None:
        if self.active:
            self._terminal.write("\r\033[K")
            self._terminal.flush()

    def finish(self) -> None:
        if self.active:
            self.clear()
            self.active = False

    def _draw(self) -> None:
        share = self.done / self.total if self.total else 1.0
        filled = int(BAR_WIDTH * share)
        elapsed = time.monotonic() - self._started
        self._terminal.write(
            f"\r{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:6.1%} {elapsed:6.1f} s"
        )
        self._terminal.flush()
        self._drawn_at = time.monotonic()


def is_terminal(stream) -> bool:
    # Django's OutputWrapper passes isatty through to the stream it wraps.
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
