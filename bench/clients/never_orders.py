#!/usr/bin/env python3
"""The backtest benchmark's strategy that never orders: the seed's plain loop,
reading each tick and parsing it, nothing else."""
import json
import sys

count = 0
for line in sys.stdin:
    json.loads(line)
    count += 1
print(f"{count} ticks", file=sys.stderr)
