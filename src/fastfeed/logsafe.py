"""Cold-path text hygiene: rate-limited warnings, URLs without credentials, venue text
that cannot forge log lines. One helper per fact; every cold-path module uses these
(see docs/robustness.md)."""

from __future__ import annotations

import logging
import re
import time

#: venue-supplied text longer than this is cut (logs, ``last_error``)
VENUE_TEXT_LIMIT = 200
# scheme://userinfo@ — userinfo may hold anything but '/', '@' and whitespace
_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


def redact_url(url: object) -> str:
    """``url`` (or any text quoting URLs) with every ``user:password@`` replaced by
    ``***@``: safe to print, log or put in ``stats()``."""
    return _CREDENTIALS.sub(r"\1***@", str(url))


def venue_text(text: str | bytes | object, limit: int = VENUE_TEXT_LIMIT) -> str:
    """Text from a venue (or any peer), escaped and cut: ``repr`` of at most ``limit``
    characters, plus how much was cut. No newline or control character survives, so a
    peer cannot forge log lines."""
    if not isinstance(text, (str, bytes)):
        text = str(text)
    cut = len(text) - limit
    shown = repr(text[:limit])
    return f"{shown}…(+{cut})" if cut > 0 else shown


def describe_exc(exc: BaseException) -> str:
    """``Kind: message`` for an exception, the message escaped (it may quote a peer)."""
    args = exc.args
    # picows' WSProtocolError carries (close code, reason): the reason is the readable part
    message = args[1] if len(args) == 2 and isinstance(args[1], str) else str(exc)
    return f"{type(exc).__name__}: {venue_text(redact_url(message))}"


class RateLimitedLog:
    """At most one record per key every ``interval`` seconds; the next record that gets
    through says how many were suppressed. Keeps a flood of bad frames from stalling the
    loop on logging."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self.logger = logger
        self.interval = interval
        self.suppressed_total = 0
        self._last: dict[object, float] = {}
        self._suppressed: dict[object, int] = {}

    def log(self, level: int, key: object, msg: str, *args: object,
            exc_info: BaseException | None = None) -> bool:
        """Log ``msg % args`` under ``key`` unless one was logged recently; True if logged."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            self.suppressed_total += 1
            return False
        if len(self._last) > 10_000:    # keys are bounded in practice; never grow forever
            self._last.clear()
        self._last[key] = now
        skipped = self._suppressed.pop(key, 0)
        if skipped:
            msg += " (%d similar suppressed in the last %.0fs)"
            args = (*args, skipped, self.interval)
        self.logger.log(level, msg, *args, exc_info=exc_info)
        return True

    def warning(self, key: object, msg: str, *args: object) -> bool:
        """``log(WARNING, ...)``."""
        return self.log(logging.WARNING, key, msg, *args)

    def info(self, key: object, msg: str, *args: object) -> bool:
        """``log(INFO, ...)``."""
        return self.log(logging.INFO, key, msg, *args)
