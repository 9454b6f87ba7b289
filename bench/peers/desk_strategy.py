#!/usr/bin/env python3
"""The peer benchmark's rule (`rule.py`) as a desk strategy: the seed's plain `for line in sys.stdin:`
loop, a market order through `desk_client` when the rule says so, the position counted from the orders the
desk accepted. Its config.json has no `"events"`: it reads nothing but ticks, so the desk can stream them.

With `PEER_POSITION=fills` (and `"events": ["fills"]` in config.json) it is the same rule written the other
way a member would: the position from the desk's fill lines (each arrives before the next tick, so it is the
same number at every decision), read with `desk_client.lines()`. That folder measures the desk's path for
strategies that ask for their order events.

The harness makes the folders: this file as strategy.py, rule.py beside it, and config.json with
`"env": {"PEER_VARIANT": "orders"}` (or "never")."""
import json
import os
import sys

from desk_client import place_order
from rule import MeanReversion, cents

rule = MeanReversion.variant(os.environ["PEER_VARIANT"])
if os.environ.get("PEER_POSITION") == "fills":
    from decimal import Decimal

    from desk_client import is_event, lines

    for line in lines():
        if is_event(line):
            if line["type"] == "fill":
                rule.position = int(Decimal(str(line["position"])))
            continue
        side = rule.on_price(cents(line["price"]))
        if side is not None:
            place_order(line["symbol"], rule.qty, side)
else:
    for line in sys.stdin:
        tick = json.loads(line)
        side = rule.on_price(cents(tick["price"]))
        if side is not None:
            response = place_order(tick["symbol"], rule.qty, side)
            if response.status == "success":
                rule.accepted(side)
            else:
                print(f"{side} refused: {response.message}", file=sys.stderr)
