"""Fan-out over NATS JetStream: books published by an engine, rebuilt exactly elsewhere.

Wire format and rebuild rules: ``docs/wire.md``; the publisher, the consumer and
operation: ``docs/fanout.md``. Needs the ``nats`` extra (``pip install 'fastfeed[nats]'``).
``BookConsumer``, ``BookConsumers`` and ``NatsPublisher`` are imported on first use, so
this package imports without nats-py.
"""

from typing import Any

from fastfeed.fanout.wire import (
    DELTA,
    SNAPSHOT,
    Message,
    WireError,
    book_id,
    decode,
    normalise_symbol,
    subject,
)

__all__ = ["DELTA", "SNAPSHOT", "BookConsumer", "BookConsumers", "Message", "NatsPublisher",
           "WireError", "book_id", "decode", "normalise_symbol", "subject"]

_LAZY = {"BookConsumer": "consumer", "BookConsumers": "consumer", "NatsPublisher": "publisher"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastfeed.fanout' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"fastfeed.fanout.{module}"), name)
