#!/usr/bin/env python3
"""The peer benchmark's rule (`rule.py`) as a desk strategy: the seed's plain `for line in sys.stdin:`
loop, a market order through `desk_client` when the rule says so, the position counted from the orders the
desk accepted (no `"events"` in config.json: it reads nothing but ticks, so the desk can stream them).

The harness makes the folder: this file as strategy.py, rule.py beside it, and config.json with
`"env": {"PEER_VARIANT": "orders"}` (or "never")."""
import json
import os
import sys

from desk_client import place_order
from rule import MeanReversion, cents

rule = MeanReversion.variant(os.environ["PEER_VARIANT"])
for line in sys.stdin:
    tick = json.loads(line)
    side = rule.on_price(cents(tick["price"]))
    if side is not None:
        response = place_order(tick["symbol"], rule.qty, side)
        if response.status == "success":
            rule.accepted(side)
        else:
            print(f"{side} refused: {response.message}", file=sys.stderr)
