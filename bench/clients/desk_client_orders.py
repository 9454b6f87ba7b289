"""N sequential place_order calls with our desk_client (one keep-alive session).
Prints the orders per second and the number acknowledged. Environment as for any
strategy: DESK_SERVER_URL (http:// or unix://), DESK_TOKEN."""
import sys
import time

from desk_client import place_order

count = int(sys.argv[1])
place_order("AAPL", 1, "buy")  # warm-up: the session and the import are not what is measured
started = time.perf_counter()
ok = sum(place_order("AAPL", 1, "buy").status == "success" for _ in range(count))
elapsed = time.perf_counter() - started
print(f"{count / elapsed:.1f} {ok}")
