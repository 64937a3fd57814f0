"""Fan-out over NATS JetStream: books published by an engine, rebuilt exactly elsewhere.

Wire format and rebuild rules: ``docs/wire.md``; the publisher, the consumer and
operation: ``docs/fanout.md``. Needs the ``nats`` extra (``pip install 'fastfeed[nats]'``).
"""

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

__all__ = ["DELTA", "SNAPSHOT", "Message", "WireError", "book_id", "decode",
           "normalise_symbol", "subject"]
