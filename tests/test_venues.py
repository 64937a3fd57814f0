"""Every venue description is complete: each layer finds what it needs for every venue.

Adding a venue means one module in ``fastfeed/venues/``, its compiled decoder and its
simulator dialect (docs/architecture.md). These checks fail when one of the pieces is
missing, instead of a KeyError deep in some layer later.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fastfeed import BookFeed, TradeFeed
from fastfeed._parse import DECODERS, TRADE_STREAMS
from fastfeed._sync import RULES
from fastfeed._trades import ID_RULES
from fastfeed.reference.candles import DECODERS as CANDLE_REFERENCE_DECODERS
from fastfeed.reference.decode import DECODERS as REFERENCE_DECODERS
from fastfeed.sim.dialects import DIALECTS
from fastfeed.venues import VENUES, Venue, get_venue

CORPUS = Path(__file__).parent / "corpus"


@pytest.mark.parametrize("name", sorted(VENUES))
def test_venue_description_is_complete(name):
    venue = VENUES[name]
    assert isinstance(venue, Venue) and venue.name == name
    assert venue.symbol_example and venue.ws_url.startswith("wss://")
    assert venue.decoder in DECODERS, "compiled stream decoder not registered"
    assert venue.decoder in REFERENCE_DECODERS, "no pure-Python twin of the decoder"
    if venue.snapshot_decoder is not None:
        assert venue.snapshot_decoder in DECODERS
        assert venue.snapshot_decoder in REFERENCE_DECODERS
        assert venue.uses_rest_snapshots
        assert venue.depth_max_limit, "REST snapshots need their largest depth"
    assert venue.sequencing in RULES
    assert name in DIALECTS, "no simulator dialect"
    assert (CORPUS / name).is_dir(), "no conformance corpus"
    # the compiled core accepts the description as is
    feed = BookFeed(name, venue.symbol_example, "0.01", "0.001")
    assert feed.state == "syncing" and feed.venue == name
    # trades (docs/venues.md, "Trades"): decoder, its twin, streams and id rules; a venue
    # with books only (Bybit, Kraken so far) names no trade decoder and no streams
    if not venue.trade_decoder:
        assert not venue.trade_streams
        return
    assert venue.trade_decoder in DECODERS and venue.trade_decoder in REFERENCE_DECODERS
    assert venue.trade_streams, "no trade streams"
    for stream, rule in venue.trade_streams:
        assert stream in TRADE_STREAMS.values() and rule in ID_RULES
        tf = TradeFeed(name, venue.symbol_example, "0.01", "0.001", stream=stream)
        assert tf.state == "live" and tf.stream == stream
    assert list(CORPUS.joinpath(name).glob("trades_*.json")), "no trade corpus"


#: venues whose trades are not built yet
BOOK_ONLY: tuple[str, ...] = ()


def test_compiled_and_reference_decoders_are_the_same_set():
    from fastfeed.reference.decode import STREAM_DECODERS
    from fastfeed.reference.quotes import DECODERS as REFERENCE_QUOTE_DECODERS
    assert set(DECODERS) == (set(REFERENCE_DECODERS) | set(STREAM_DECODERS)
                             | set(REFERENCE_QUOTE_DECODERS) | set(CANDLE_REFERENCE_DECODERS))
    assert not set(REFERENCE_DECODERS) & set(STREAM_DECODERS)


def test_unknown_venue_and_decoder_are_clear_errors():
    with pytest.raises(ValueError, match="unknown venue 'nowhere'"):
        get_venue("nowhere")
    with pytest.raises(ValueError, match="unknown venue"):
        BookFeed("nowhere", "BTC/USD", "0.1", "0.001")
