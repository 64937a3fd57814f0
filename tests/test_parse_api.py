"""The compiled decoders' registry and error vocabulary (fastfeed._parse)."""

from __future__ import annotations

import pytest

from fastfeed import _parse
from fastfeed.venues import VENUES

SPOT = (b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,'
        b'"b":[["1.00","2.0"]],"a":[]}')


def test_decoders_are_the_ones_venues_name() -> None:
    assert _parse.DECODERS == ("binance-depth", "binance-snapshot", "coinbase-at",
                               "coinbase-exchange")
    named = {v.decoder for v in VENUES.values()}
    named |= {v.snapshot_decoder for v in VENUES.values() if v.snapshot_decoder}
    assert named == set(_parse.DECODERS)


def test_decode_message_follows_the_venue_description(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _parse.decode_message("binance", SPOT, 2, 1)["last_id"] == 2
    monkeypatch.setattr(VENUES["binance"], "decoder", "nope")
    with pytest.raises(ValueError, match=r"^unknown decoder 'nope' \(known: binance-depth, "
                                         r"binance-snapshot, coinbase-at, coinbase-exchange\)$"):
        _parse.decode_message("binance", SPOT, 2, 1)


def test_unknown_venue_and_in_band_snapshots() -> None:
    with pytest.raises(ValueError, match=r"^unknown venue 'kraken' \(expected binance, "
                                         r"binance-usdm, coinbase or coinbase-exchange\)$"):
        _parse.decode_message("kraken", SPOT, 2, 1)
    for venue in ("coinbase", "coinbase-exchange"):
        with pytest.raises(ValueError, match="no snapshot decoder"):
            _parse.decode_message(venue, b"{}", 2, 1, snapshot=True)
