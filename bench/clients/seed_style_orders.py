"""N sequential orders the way the original client sent them: requests.post per
call (a new connection each time), protobuf body, parsed reply."""
import os
import sys
import time

import requests

from desk_client import order_pb2

url = os.environ["DESK_SERVER_URL"] + "/order"
headers = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {os.environ['DESK_TOKEN']}"}
count = int(sys.argv[1])


def place() -> bool:
    body = order_pb2.OrderRequest(symbol="AAPL", qty="1", side="buy", order_type="market",
                                  time_in_force="day").SerializeToString()
    reply = requests.post(url, data=body, headers=headers, timeout=10)
    response = order_pb2.OrderResponse()
    response.ParseFromString(reply.content)
    return response.status == "success"


place()
started = time.perf_counter()
ok = sum(place() for _ in range(count))
elapsed = time.perf_counter() - started
print(f"{count / elapsed:.1f} {ok}")
