#!/usr/bin/env bash
# The docker runtime end to end, against a real Docker engine, with no registry:
#  - installs docker.io and debootstrap from Debian's packages when missing;
#  - starts its own dockerd (own socket and data root, no default bridge, no
#    iptables), so it never disturbs an engine someone else runs; with
#    DESK_E2E_DOCKER_HOST=unix:///… it uses that engine instead and leaves it running;
#  - builds desk-base:bookworm from a debootstrapped Debian root with python3
#    (the root's tarball is cached in $DESK_CACHE, default /var/cache/desk), then the
#    strategy image from docker/Dockerfile with no network;
#  - runs `desk serve --runtime docker` with the example strategies, a memory hog
#    and the synthetic feed, broker keys in the desk's environment, and checks:
#    orders from the containers land under their members in the ledger, a
#    container has no network interface but loopback, the broker keys are in no
#    container's environment, the hog is killed at its memory limit, logs are
#    readable through `desk strategies logs`, `stop` removes the container, and a
#    desk killed with -9 finds and removes its leftover containers when it starts again;
#  - removes everything it started: the desk, containers, images, the daemon.
# Exit status: 0 when every check passed, 1 when one failed, 2 when no Docker
# engine could be installed or started here. Needs root (dockerd, debootstrap).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "docker e2e needs root (it starts dockerd and runs debootstrap)"
  exit 2
fi
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
started=$(date +%s)
cache="${DESK_CACHE:-/var/cache/desk}"
base_image=desk-base:bookworm
image=trading-desk-strategy:e2e
work="$(mktemp -d /tmp/desk-e2e.XXXXXX)"
chmod 755 "$work"
failures=0
daemon_pid=""
desk_pid=""

say() { echo "== $*"; }
pass() { echo "   ok: $*"; }
fail() {
  echo "   FAILED: $*"
  failures=$((failures + 1))
}
elapsed() { echo "$(($(date +%s) - started))s"; }

cleanup() {
  set +e
  if [ -n "$desk_pid" ] && kill -0 "$desk_pid" 2>/dev/null; then
    kill -TERM "$desk_pid"
    wait "$desk_pid" 2>/dev/null
  fi
  if [ -n "${DOCKER_HOST:-}" ] && docker info >/dev/null 2>&1; then
    # Only the containers of this run's desk (its instance label).
    if [ -n "${instance:-}" ]; then
      leftovers=$(docker ps --all --filter "label=desk.instance=$instance" --format '{{.Names}}')
      [ -n "$leftovers" ] && docker rm --force $leftovers >/dev/null
    fi
    docker rmi --force "$image" >/dev/null 2>&1
    [ -n "$daemon_pid" ] && docker rmi --force "$base_image" >/dev/null 2>&1
  fi
  if [ -n "$daemon_pid" ]; then
    kill -TERM "$daemon_pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$daemon_pid" 2>/dev/null
    umount -R "$work/docker" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

need() { # command package
  if ! command -v "$1" >/dev/null 2>&1; then
    say "installing $2"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null; } ||
      { echo "could not install $2"; exit 2; }
  fi
}

# -- the engine -------------------------------------------------------------
need dockerd docker.io
need debootstrap debootstrap
if [ -n "${DESK_E2E_DOCKER_HOST:-}" ]; then
  export DOCKER_HOST="$DESK_E2E_DOCKER_HOST"
  say "using the engine at $DOCKER_HOST"
else
  say "starting dockerd (own socket and data root, --bridge=none)"
  export DOCKER_HOST="unix://$work/docker.sock"
  dockerd --host "$DOCKER_HOST" --data-root "$work/docker" --exec-root "$work/run" \
    --pidfile "$work/dockerd.pid" --bridge=none --iptables=false --ip6tables=false \
    >"$work/dockerd.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1 150); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
fi
if ! docker info >/dev/null 2>&1; then
  echo "could not reach a Docker engine at $DOCKER_HOST"
  [ -f "$work/dockerd.log" ] && tail -20 "$work/dockerd.log"
  exit 2
fi
export DOCKER_BUILDKIT=0

# -- images -----------------------------------------------------------------
rootfs_tar="$cache/debian-bookworm-python3.tar"
if [ ! -s "$rootfs_tar" ]; then
  say "debootstrapping Debian bookworm with python3 (once; cached in $rootfs_tar)"
  mkdir -p "$cache"
  debootstrap --variant=minbase --include=python3 bookworm "$work/rootfs" http://deb.debian.org/debian \
    >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; exit 1; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -cf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  rm -rf "$work/rootfs"
fi
if ! docker image inspect "$base_image" >/dev/null 2>&1; then
  say "importing $base_image"
  docker import "$rootfs_tar" "$base_image" >/dev/null
fi
say "building $image (no network) [$(elapsed)]"
scripts/strategy-image-context.sh "$work/context"
docker build --quiet --network none --build-arg "BASE_IMAGE=$base_image" -t "$image" "$work/context" >/dev/null

# -- the desk ---------------------------------------------------------------
if [ ! -x .build/debug/desk ] || [ ! -x .build/debug/desk-sandbox ]; then
  say "building desk"
  swift build --product desk && swift build --product desk-sandbox
fi
desk="$root/.build/debug/desk"
strategies="$work/strategies"
mkdir -p "$strategies"
cp -r strategies/example_alice strategies/example_bob "$strategies/"
mkdir "$strategies/preloader"
echo 'print("should never run")' >"$strategies/preloader/strategy.py"
echo '{"user_id": "mallory", "env": {"LD_PRELOAD": "/app/strategy/x.so"}}' >"$strategies/preloader/config.json"
mkdir "$strategies/hog"
cat >"$strategies/hog/strategy.py" <<'PY'
# Takes memory 16 MB at a time, touching every page, until the limit stops it.
import sys
held = []
print("hog: starting", flush=True)
while True:
    held.append(bytearray(b"x") * (16 << 20))
    print("hog: holding", 16 * len(held), "MB", flush=True)
PY
echo '{"user_id": "carol", "limits": {"memory": "64m"}, "restart": {"policy": "never"}}' \
  >"$strategies/hog/config.json"
chmod -R a+rX "$strategies"

export DB_PATH="$work/desk.db"
export DESK_SERVER_URL="unix://$work/desk.sock"
export APCA_API_KEY_ID=PKE2EKEYNEVERSHOWN
export APCA_API_SECRET_KEY=e2e-secret-never-shown
instance=""

start_desk() {
  "$desk" serve --port 0 --runtime docker --docker-image "$image" --strategies-dir "$strategies" \
    --feed synthetic --feed-rate 50 >>"$work/desk.log" 2>&1 &
  desk_pid=$!
  for _ in $(seq 1 150); do
    "$desk" strategies status >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "the desk did not start:"
  tail -30 "$work/desk.log"
  exit 1
}

strategy_field() { # name field
  "$desk" strategies status "$1" --json |
    python3 -c "import json,sys; s=json.load(sys.stdin)['strategies']; print((s[0].get('$2') if s else None) or '')"
}

wait_for() { # seconds description command…
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq 1 $((seconds * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

say "desk serve --runtime docker [$(elapsed)]"
start_desk
"$desk" strategies start example_alice example_bob >/dev/null
# The hog dies at its memory limit by design: start it without watching it (--grace 0).
"$desk" strategies start --grace 0 hog >/dev/null
instance=$(docker inspect --format '{{index .Config.Labels "desk.instance"}}' strategy-example_alice 2>/dev/null || true)

running() { [ "$(docker inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }
if wait_for 60 "containers" running strategy-example_alice && running strategy-example_bob; then
  pass "strategy-example_alice and strategy-example_bob are running"
else
  fail "the example containers are not running"
  "$desk" strategies status || true
fi
instance=$(docker inspect --format '{{index .Config.Labels "desk.instance"}}' strategy-example_alice)
"$desk" strategies status

orders_by() { # member: orders from its strategy
  python3 - "$DB_PATH" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=5)
member = sys.argv[2]
rows = db.execute("select strategy, count(*) from orders where member = ? group by strategy", (member,)).fetchall()
print(rows)
sys.exit(0 if rows and all(s == f"example_{member}" for s, _ in rows) else 1)
PY
}
say "orders from inside the containers [$(elapsed)]"
for member in alice bob; do
  if wait_for 90 "orders" orders_by "$member"; then
    pass "$member's orders are booked under $member from example_$member: $(orders_by "$member")"
  else
    fail "no orders from example_$member under $member: $(orders_by "$member" || true)"
  fi
done

say "isolation"
interfaces=$(docker exec strategy-example_alice cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' ')
[ "$interfaces" = "lo " ] && pass "network interfaces in the container: $interfaces" ||
  fail "network interfaces in the container: $interfaces"
if docker exec strategy-example_alice python -c \
  "import socket; socket.create_connection(('151.101.2.132', 80), timeout=3)" >/dev/null 2>&1; then
  fail "the container reached an outside address"
else
  pass "the container cannot connect outside"
fi
env_dump=$(docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' strategy-example_alice strategy-example_bob)
if echo "$env_dump" | grep -q -e APCA -e "$APCA_API_SECRET_KEY" -e "$APCA_API_KEY_ID"; then
  fail "broker keys are in a container's environment"
else
  pass "no broker key in the containers' environment (docker inspect)"
fi
echo "$env_dump" | grep -qx 'DESK_SERVER_URL=unix:///run/desk/desk.sock' &&
  pass "DESK_SERVER_URL is the mounted socket" || fail "DESK_SERVER_URL is not the mounted socket"
cli_pid=$(strategy_field example_alice pid)
if [ -n "$cli_pid" ] && ! tr '\0' '\n' <"/proc/$cli_pid/environ" | grep -q APCA; then
  pass "no broker key in the environment of its docker CLI (pid $cli_pid)"
else
  fail "the docker CLI for example_alice has broker keys (or no pid: '$cli_pid')"
fi
user=$(docker exec strategy-example_alice id -u)
[ "$user" != 0 ] && pass "the strategy runs as uid $user" || fail "the strategy runs as root"
bob_user=$(docker exec strategy-example_bob id -u)
if [ "$user" != "$bob_user" ] && [ "$bob_user" != 0 ] && [ "$user" != 10001 ]; then
  pass "each strategy has its own uid: alice $user, bob $bob_user"
else
  fail "alice and bob do not have distinct uids of their own: $user and $bob_user"
fi
# The strategy process itself (not docker-init): a clean signal mask, and python -s.
strategy_process='import os
for p in os.listdir("/proc"):
    argv = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0") if p.isdigit() else [b""]
    if os.path.basename(argv[0]).startswith(b"python") and argv[-2:-1] == [b"/app/strategy/strategy.py"]:
        status = open(f"/proc/{p}/status").read().splitlines()
        print([l.split()[1] for l in status if l.startswith("SigBlk")][0], open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")[1].decode())'
read -r mask flag <<<"$(docker exec strategy-example_alice python -c "$strategy_process")"
[ "$mask" = 0000000000000000 ] && pass "the strategy starts with no signal blocked" ||
  fail "the strategy starts with signals blocked: SigBlk $mask"
[ "$flag" = "-s" ] && pass "python runs without user site-packages (-s)" || fail "python runs with: $flag"
home=$(docker exec strategy-example_alice sh -c 'echo "$HOME $TMPDIR"')
[ "$home" = "/home/strategy /tmp" ] && pass "HOME and TMPDIR: $home" || fail "HOME and TMPDIR: $home"
docker exec --user "$bob_user" strategy-example_bob sh -c 'echo bob > "$HOME/planted.py" && echo bob > /tmp/planted.py'
if docker exec strategy-example_alice sh -c 'ls "$HOME" /tmp' | grep -q planted; then
  fail "a file bob wrote in his HOME or /tmp is visible to alice"
else
  pass "bob's HOME and /tmp are his alone"
fi
[ "$(docker exec strategy-example_alice sh -c 'touch "$HOME/x" && echo ok')" = ok ] &&
  pass "alice's HOME is writable by her" || fail "alice cannot write her HOME"
# A HOME filled to the brim fills its own tmpfs (the strategy's disk), never the desk's disk.
free_before=$(df -k --output=avail "$work" | tail -1)
filled=$(docker exec strategy-example_alice sh -c 'dd if=/dev/zero of="$HOME/fill" bs=1M count=400 2>&1; rm -f "$HOME/fill"')
free_after=$(df -k --output=avail "$work" | tail -1)
if echo "$filled" | grep -q "No space left" && [ $((free_before - free_after)) -lt 102400 ]; then
  pass "filling HOME stops at the strategy's disk and leaves the desk's disk alone"
else
  fail "filling HOME: '$filled' (desk's disk ${free_before}k free before, ${free_after}k after)"
fi

preload_start=$("$desk" strategies start preloader 2>&1 || true)
if echo "$preload_start" | grep -q "LD_PRELOAD is refused"; then
  pass "a config.json setting LD_PRELOAD is refused, naming the variable"
else
  fail "a config.json setting LD_PRELOAD was not refused: $preload_start"
fi

say "memory limit [$(elapsed)]"
hog_exit() { strategy_field hog last_exit | grep -q "out of memory"; }
if wait_for 60 "hog" hog_exit; then
  pass "the hog was killed at 64m: $(strategy_field hog last_exit)"
else
  fail "the hog was not killed for memory: '$(strategy_field hog last_exit)'"
fi
if "$desk" strategies logs hog --tail 5 | grep -q "out of memory"; then
  pass "its log says so: $("$desk" strategies logs hog --tail 1)"
else
  fail "the hog's log does not mention memory"
fi

say "logs and stop"
alice_log=$("$desk" strategies logs example_alice --tail 100000)  # from its start, however much it logged since
if echo "$alice_log" | grep -q "starting example_alice for member alice on venue paper (docker)"; then
  pass "desk strategies logs example_alice: $(echo "$alice_log" | wc -l) lines"
else
  fail "desk strategies logs example_alice shows no start"
fi
echo "$alice_log" | grep -q -e APCA -e "$APCA_API_SECRET_KEY" && fail "a broker key is in a log"
"$desk" strategies stop example_bob
if [ -z "$(docker ps --all --quiet --filter name=^strategy-example_bob$)" ]; then
  pass "stop removed strategy-example_bob"
else
  fail "strategy-example_bob is still there after stop"
fi
[ "$(strategy_field example_bob state)" = stopped ] && pass "example_bob is stopped" || fail "example_bob is not stopped"

say "a desk killed with -9 cleans up after itself when it starts again [$(elapsed)]"
old_id=$(docker inspect --format '{{.Id}}' strategy-example_alice)
kill -KILL "$desk_pid"
wait "$desk_pid" 2>/dev/null || true
desk_pid=""
[ -n "$(docker ps --all --quiet --filter "label=desk.instance=$instance")" ] &&
  pass "containers outlive the killed desk: $(docker ps --all --filter "label=desk.instance=$instance" --format '{{.Names}}' | tr '\n' ' ')"
rm -f "$work/desk.sock"
start_desk
new_alice() { running strategy-example_alice && [ "$(docker inspect --format '{{.Id}}' strategy-example_alice)" != "$old_id" ]; }
if wait_for 60 "restart" new_alice; then
  pass "the leftover was removed and example_alice runs again in a new container"
else
  fail "example_alice did not come back in a new container"
fi
grep -q "removed what an earlier run left behind" "$work/desk.log" && pass "the desk logged the leftovers it removed" ||
  fail "no leftover removal in the desk's log"
[ -z "$(docker ps --all --quiet --filter name=^strategy-example_bob$)" ] && pass "example_bob stayed stopped" ||
  fail "example_bob came back"
"$desk" strategies status

say "shutdown"
kill -TERM "$desk_pid"
wait "$desk_pid" 2>/dev/null || true
desk_pid=""
remaining=$(docker ps --all --filter "label=desk.instance=$instance" --format '{{.Names}}')
[ -z "$remaining" ] && pass "no container left after the desk stopped" || fail "left after shutdown: $remaining"
if grep -q -e "$APCA_API_SECRET_KEY" "$work/desk.log" "$work"/logs/*.log 2>/dev/null; then
  fail "the broker secret appears in a log"
else
  pass "the broker secret appears in no log"
fi

if [ "$failures" -gt 0 ]; then
  say "docker e2e: $failures check(s) FAILED in $(elapsed)"
  echo "-- desk log (tail)"
  tail -40 "$work/desk.log"
  exit 1
fi
say "docker e2e passed in $(elapsed)"
