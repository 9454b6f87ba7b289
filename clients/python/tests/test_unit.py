"""desk_client pieces that need no server: number formatting and the market data reader."""
import io
import logging
from decimal import Decimal

import pytest

from desk_client import market_data
from desk_client.client import format_decimal


@pytest.mark.parametrize("value, text", [
    ("10", "10"), (" 2.5 ", "2.5"), (10, "10"), (2.5, "2.5"), (0.1, "0.1"), (145.7 + 0.10, "145.79999999999998"),
    (Decimal("145.60"), "145.60"), (Decimal("1E+2"), "100"), (Decimal("0.00001"), "0.00001"), (None, ""),
])
def test_format_decimal_is_exact(value, text):
    assert format_decimal(value, "qty") == text


@pytest.mark.parametrize("value, error", [(True, TypeError), ([1], TypeError), (float("nan"), ValueError),
                                          (float("inf"), ValueError)])
def test_format_decimal_refuses(value, error):
    with pytest.raises(error):
        format_decimal(value, "qty")


def test_market_data_skips_bad_lines_with_a_message(caplog):
    stream = io.StringIO('{"symbol": "AAPL", "price": 145.5, "extra": 1}\n\nnot json\n[1, 2]\n'
                         '{"symbol": "MSFT"}\n{"symbol": "MSFT", "price": 300}\n')
    with caplog.at_level(logging.WARNING, logger="desk_client"):
        ticks = list(market_data(stream))
    assert ticks == [{"symbol": "AAPL", "price": 145.5, "extra": 1}, {"symbol": "MSFT", "price": 300}]
    messages = [record.getMessage() for record in caplog.records]
    assert any("line 3 is not JSON" in message for message in messages)
    assert any("line 4" in message for message in messages)
    assert any("line 5" in message for message in messages)
