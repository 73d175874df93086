#!/usr/bin/env python3
"""Fuzzes a live `cascade serve` with random requests over every route: random methods, ids
(empty, huge, control characters, percent-encoding), query parameters, keys and bodies
(malformed JSON, wrong types, huge numbers, oversized batches and bodies). Passes when no
answer is a 5xx, every 4xx carries a JSON error, and the server is still up at the end.
Prints `key=value` lines: counts by status and the verdict.

    python3 scripts/fuzz-api.py --cascade .build/release/cascade --requests 10000
"""
import collections
import http.client
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
from server_harness import Server, common_arguments, prepared_world  # noqa: E402


def random_body(rng, items):
    kind = rng.randrange(8)
    if kind == 0:
        return b""
    if kind == 1:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    if kind == 2:
        pieces = ['{', '}', '[', ']', '"events"', ':', ',', '"user"', '"item"', 'null', '1e999', '-0', '"\\u0000"', 'true']
        return "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 30))).encode()
    if kind == 3:
        return b'{"events":[' + b",".join([b'{"user":"u1","item":"x"}'] * rng.choice([1, 999, 1001, 5000])) + b"]}"
    if kind == 4:
        return b"x" * rng.choice([10, 2_000_000])
    event = {"user": rng.choice(["u1", "", "u" * 300, "a\u0001b", "fuzz-user", 5, None,
                                 "cafe\u0301", "caf\u00e9", "\ufeffu1", "\ufeff", "e\u0301\u0301"]),
             "item": rng.choice(items + ["", "no-such-item", None, 3.5]),
             "type": rng.choice(["click", "impression", "like", "dislike", "teleport", "", 7]),
             "timestamp": rng.choice([None, 1.7e9, -1, "now", 1e308, 1765000000000, 99999999999, -1e15, 1e300, 0]),
             "value": rng.choice([None, 1, "x", float("inf") if rng.random() < 0.1 else 2.5])}
    event = {k: v for k, v in event.items() if v is not None or rng.random() < 0.5}
    if kind == 5:
        return json.dumps({"events": [event] * rng.randint(1, 5)}, allow_nan=True).encode()
    if kind == 6:
        return json.dumps({"categories": [rng.choice(["a", "", "\u0000"])], "tags": rng.choice([[], ["t"], "x"]),
                           "location": rng.choice([None, {"latitude": 91, "longitude": 0}, {"latitude": 1, "longitude": 2}]),
                           "hidden": rng.choice([True, False, "yes"])}).encode()
    return json.dumps(rng.choice([{}, [], None, 1, "s", {"events": None}, {"events": {}}])).encode()


def main():
    ap = common_arguments(__doc__.splitlines()[0], port=18089, seed=7)
    ap.add_argument("--requests", type=int, default=10000)
    args = ap.parse_args()
    db, items = prepared_world(args, "fuzz.sqlite", 50)
    server = Server(args.cascade, db, args.port)
    rng = random.Random(args.seed)
    ids = items[:10] + ["u1", "u2", "", "%", "%00", "%2F", "..", "z" * 300, "u%20x", "%C3%A9", "a%0Ab", "?", "#",
                        "e%CC%81", "cafe%CC%81", "%EF%BB%BFu1", "%EF%BB%BF"]
    paths = ["/api/recommend/{}", "/api/users/{}", "/api/items/{}", "/api/items/{}/similar", "/api/items/{}/hide",
             "/api/items/{}/unhide", "/api/feedback", "/health", "/metrics", "/api/", "/", "/api/recommend/"]
    queries = ["", "?n=5", "?n=0", "?n=-3", "?n=99999999999999999999", "?n=abc", "?debug=1&n=3", "?debug=maybe",
               "?scene=" + "s" * 100, "?n=10&scene=home", "?key=admin"]
    statuses = collections.Counter()
    bad = []
    for k in range(args.requests):
        path = rng.choice(paths).replace("{}", rng.choice(ids)) + rng.choice(queries)
        method = rng.choice(["GET", "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
        body = random_body(rng, items) if method in ("POST", "PUT", "PATCH") or rng.random() < 0.1 else None
        headers = {"Content-Type": rng.choice(["application/json", "text/plain", ""])}
        key = rng.choice(["admin", "admin", "admin", "read", "wrong", None])
        if key:
            if rng.random() < 0.5:
                headers["Authorization"] = ("Bearer " + key) if rng.random() < 0.95 else key
            else:
                headers["X-API-Key"] = key if rng.random() < 0.95 else "Bearer " + key
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            statuses[r.status] += 1
            if r.status >= 500:
                bad.append(f"{method} {path} -> {r.status}: {raw[:200]!r}")
            elif r.status >= 400 and method != "HEAD":
                try:
                    err = json.loads(raw)["error"]
                    assert isinstance(err["message"], str) and err["status"] == r.status
                except Exception:
                    bad.append(f"{method} {path} -> {r.status} without a JSON error: {raw[:200]!r}")
        except (ConnectionError, http.client.HTTPException, OSError) as e:
            if not server.alive():
                bad.append(f"server died at request {k}: {method} {path}: {e}")
                break
            statuses["connection-closed"] += 1
        finally:
            conn.close()
    alive = server.alive()
    server.kill(15)
    for s, n in sorted(statuses.items(), key=lambda x: str(x[0])):
        print(f"status={s} count={n}")
    for b in bad[:20]:
        print("problem:", b)
    ok = alive and not bad
    print(f"requests={args.requests} server_up={int(alive)} problems={len(bad)} verdict={'pass' if ok else 'fail'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
