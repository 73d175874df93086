#!/usr/bin/env python3
"""SIGKILL durability test: clients post feedback while the server is killed with SIGKILL;
every event that got a 2xx must be in the database afterwards. Repeats --rounds times and
prints one `key=value` line per round and a total; exits 1 when any acknowledged event is lost.

    python3 scripts/kill-test.py --cascade .build/release/cascade --rounds 20
    python3 scripts/kill-test.py --store 'postgres://postgres@127.0.0.1:55432/postgres?schema=kill' --rounds 20
"""
import random
import sys
import threading
import time
import os

sys.path.insert(0, os.path.dirname(__file__))
from server_harness import Server, common_arguments, prepared_world, query, request  # noqa: E402


def client(server, items, counter, acked, lock, stop, rng):
    while not stop.is_set():
        n = rng.randint(1, 20)
        with lock:
            values = [counter[0] + k for k in range(n)]
            counter[0] += n
        events = [{"user": f"kill-u{rng.randint(0, 50)}", "item": rng.choice(items),
                   "type": rng.choice(["impression", "click", "like"]), "value": v, "scene": "killtest"} for v in values]
        try:
            status, _ = request(server.url + "/api/feedback", "POST", {"events": events}, key=server.admin_key, timeout=5)
        except Exception:
            continue  # connection refused or reset: not acknowledged
        if 200 <= status < 300:
            with lock:
                acked.extend(values)


def main():
    ap = common_arguments(__doc__.splitlines()[0], port=18088, seed=1)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    db, items = prepared_world(args, "kill.sqlite", 200)
    rng = random.Random(args.seed)
    counter = [1]
    total_acked = total_lost = 0
    for rnd in range(args.rounds):
        server = Server(args.cascade, db, args.port)
        acked, lock, stop = [], threading.Lock(), threading.Event()
        threads = [threading.Thread(target=client, args=(server, items, counter, acked, lock, stop, random.Random(rng.random())))
                   for _ in range(args.clients)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.5, 2.0))
        server.kill(9)
        stop.set()
        for t in threads:
            t.join()
        stored = {float(r[0]) for r in query(db, "SELECT value FROM events WHERE scene = 'killtest'")}
        lost = [v for v in acked if float(v) not in stored]
        total_acked += len(acked)
        total_lost += len(lost)
        print(f"round={rnd + 1} acked={len(acked)} lost={len(lost)}", flush=True)
    print(f"rounds={args.rounds} acked={total_acked} lost={total_lost}")
    sys.exit(1 if total_lost else 0)


if __name__ == "__main__":
    main()
