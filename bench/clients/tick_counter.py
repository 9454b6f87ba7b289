"""A strategy for the fan-out benchmark: counts the JSON lines on stdin and, for
every 50th tick, how long ago its `ts` was stamped. At EOF or SIGTERM (a stop)
prints one line:
STATS <ticks> <first-tick monotonic> <last-tick monotonic> <p50 ms> <p99 ms>."""
import datetime
import signal
import sys
import time


class Stopped(Exception):
    pass


def stop(number, frame):
    raise Stopped()


signal.signal(signal.SIGTERM, stop)

count = 0
first = last = 0.0
latencies = []
now = datetime.datetime.now
try:
    for line in sys.stdin:
        count += 1
        last = time.monotonic()
        if count == 1:
            first = last
        if count % 50 == 0:
            start = line.find('"ts":"')
            if start >= 0:
                stamp = line[start + 6:line.index('"', start + 6)]
                sent = datetime.datetime.fromisoformat(stamp)
                latencies.append((datetime.datetime.now(datetime.timezone.utc) - sent).total_seconds() * 1000)
except Stopped:
    pass
signal.signal(signal.SIGTERM, signal.SIG_IGN)
latencies.sort()


def percentile(p):
    return latencies[min(len(latencies) - 1, int(len(latencies) * p))] if latencies else -1.0


print(f"STATS {count} {first:.6f} {last:.6f} {percentile(0.5):.3f} {percentile(0.99):.3f}", flush=True)
