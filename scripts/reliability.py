#!/usr/bin/env python3
"""Reliability suite of a PostgreSQL deployment, on loopback and bounded in time. Phases:

  server-kill   SIGKILL of a server under feedback load, repeated: acknowledged events lost (must be 0)
  trainer-kill  SIGKILL of the trainer at random points of a run, repeated: half-published models (must be 0)
  db-restart    PostgreSQL restarted under load: errors while it is down, and none once it is back,
                with the same server process; acknowledged events lost (must be 0)
  soak          a long run at 80% of the measured peak, after settling at that pace for a tenth of
                its length: errors (must be 0) and memory growth (< 5%)
  import-fuzz   malformed and adversarial files through `cascade import`: crashes (must be 0) and
                rejected files that changed the store (must be 0)
  api-fuzz      scripts/fuzz-api.py against a server on PostgreSQL
  hostile       hostile events (millisecond, overflowing and negative times, unnormalised ids) posted
                under read load: every one refused (must be 0 accepted) and the readers' p99 after
                them within 1.5x of before

Each phase prints `phase=NAME key=value ...` lines and the run ends with `verdict=pass|fail`.
The cluster must be one this script may restart (scripts/postgres-local.sh start DIR PORT):

    scripts/postgres-local.sh start /tmp/cascade-pg 55432
    python3 scripts/reliability.py --pg-dir /tmp/cascade-pg --pg-port 55432 --soak-seconds 1800
"""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from server_harness import Server, ensure_world, query, request  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
failures = []


def say(phase, **fields):
    print(f"phase={phase} " + " ".join(f"{k}={v}" for k, v in fields.items()), flush=True)


def check(phase, ok, what):
    if not ok:
        failures.append(f"{phase}: {what}")


def fresh_store(args, name):
    """A schema of its own for a phase, with a small trained world in it."""
    url = f"postgres://postgres@127.0.0.1:{args.pg_port}/postgres?schema=rel_{name}_{int(time.time())}"
    ensure_world(args.cascade, url, users=args.users, items=args.items, events=args.events)
    return url


def visible_items(store, n):
    return [r[0] for r in query(store, f"SELECT ext_id FROM items WHERE NOT hidden AND NOT deleted ORDER BY idx LIMIT {int(n)}")]


def phase_server_kill(args):
    store = fresh_store(args, "kill")
    out = subprocess.run([sys.executable, os.path.join(HERE, "kill-test.py"), "--cascade", args.cascade, "--store", store,
                          "--rounds", str(args.kill_rounds), "--port", str(args.port)], capture_output=True, text=True)
    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    m = re.search(r"acked=(\d+) lost=(\d+)", last)
    acked, lost = (int(m.group(1)), int(m.group(2))) if m else (0, -1)
    say("server-kill", rounds=args.kill_rounds, acked=acked, lost=lost)
    check("server-kill", m is not None and lost == 0 and acked > 0, f"lost={lost} acked={acked} {out.stderr[-300:]}")


def half_published(store):
    """Versions whose chunks do not add up to their size, and active pointers to no version."""
    bad = query(store, """
        SELECT a.name, a.version FROM artifacts a
        LEFT JOIN (SELECT name, version, SUM(length(bytes)) AS n, COUNT(*) AS chunks, MAX(seq) AS last
                   FROM artifact_chunks GROUP BY name, version) c USING (name, version)
        WHERE c.n IS NULL OR c.n <> a.size OR c.last <> c.chunks - 1""")
    dangling = query(store, "SELECT x.name FROM active_artifacts x LEFT JOIN artifacts a USING (name, version) WHERE a.name IS NULL")
    orphans = query(store, "SELECT DISTINCT c.name, c.version FROM artifact_chunks c LEFT JOIN artifacts a USING (name, version) WHERE a.name IS NULL")
    return len(bad) + len(dangling) + len(orphans)


def phase_trainer_kill(args):
    store = fresh_store(args, "trainer")
    t0 = time.time()
    subprocess.run([args.cascade, "train", "--store", store], check=True, stdout=subprocess.DEVNULL)
    full = time.time() - t0
    rng = random.Random(3)
    before = int(query(store, "SELECT COUNT(*) FROM artifacts")[0][0])
    for _ in range(args.trainer_kills):
        p = subprocess.Popen([args.cascade, "train", "--store", store], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, full * 1.05))
        p.kill()
        p.wait()
    after = int(query(store, "SELECT COUNT(*) FROM artifacts")[0][0])
    bad = half_published(store)
    # Every active model must load: a server starts on the store and answers.
    server = Server(args.cascade, store, args.port)
    status, body = request(server.url + "/api/recommend/u1?n=10", key=server.read_key)
    server.kill(15)
    say("trainer-kill", kills=args.trainer_kills, full_run_s=f"{full:.1f}", versions_published_during_kills=after - before,
        half_published=bad, server_after_status=status)
    check("trainer-kill", bad == 0 and status == 200, f"half_published={bad} status={status}")


def restart_db(args):
    subprocess.run([os.path.join(HERE, "postgres-local.sh"), "restart", args.pg_dir, str(args.pg_port)], check=True,
                   stdout=subprocess.DEVNULL)


def phase_db_restart(args):
    store = fresh_store(args, "restart")
    items = visible_items(store, 100)
    server = Server(args.cascade, store, args.port)
    log, lock, stop = [], threading.Lock(), threading.Event()
    counter = [1]

    def client(seed):
        rng = random.Random(seed)
        while not stop.is_set():
            t = time.time()
            if rng.random() < 0.3:
                with lock:
                    v = counter[0]
                    counter[0] += 1
                body = {"events": [{"user": f"r-u{rng.randint(0, 50)}", "item": rng.choice(items), "type": "click",
                                    "value": v, "scene": "restart"}]}
                try:
                    status, _ = request(server.url + "/api/feedback", "POST", body, key=server.admin_key, timeout=10)
                except Exception:
                    status = 0
                with lock:
                    log.append((t, status, v))
            else:
                try:
                    status, _ = request(server.url + f"/api/recommend/u{rng.randint(0, 200)}?n=10", key=server.read_key, timeout=10)
                except Exception:
                    status = 0
                with lock:
                    log.append((t, status, None))
            time.sleep(0.005)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    time.sleep(args.restart_warm)
    r0 = time.time()
    restart_db(args)
    r1 = time.time()
    time.sleep(args.restart_after)
    stop.set()
    for t in threads:
        t.join()
    alive = server.alive()
    server.kill(15)
    settle = r1 + 2.0  # connections are re-made on first use after the restart
    during = [s for (t, s, _) in log if r0 <= t < settle]
    before = [s for (t, s, _) in log if t < r0]
    after = [s for (t, s, _) in log if t >= settle]
    acked = [v for (_, s, v) in log if v is not None and 200 <= s < 300]
    stored = {float(r[0]) for r in query(store, "SELECT value FROM events WHERE scene = 'restart'")}
    lost = [v for v in acked if float(v) not in stored]
    errors = lambda xs: sum(1 for s in xs if not 200 <= s < 300)  # noqa: E731
    say("db-restart", requests=len(log), restart_s=f"{r1 - r0:.1f}", errors_before=errors(before), errors_during=errors(during),
        requests_after=len(after), errors_after=errors(after), acked=len(acked), lost=len(lost), server_restarted=0 if alive else 1)
    check("db-restart", alive and errors(before) == 0 and errors(after) == 0 and len(after) > 0 and not lost,
          f"alive={alive} before={errors(before)} after={errors(after)} lost={len(lost)}")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def ensure_wrk():
    """Installs wrk (Debian's package) when it is missing."""
    if subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)


def wrk(args, url, seconds, conns, delay_ms, items, script="wrk-soak.lua"):
    env = dict(os.environ, USERS=str(args.users), DELAY_MS=str(delay_ms), ITEMS=",".join(items))
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "-s", os.path.join(HERE, script), url],
                         env=env, capture_output=True, text=True).stdout
    line = next((l for l in out.splitlines() if l.startswith("requests=")), "")
    return dict(kv.split("=", 1) for kv in line.split()) if line else {}


def phase_soak(args):
    ensure_wrk()
    store = fresh_store(args, "soak")
    items = visible_items(store, 200)
    server = Server(args.cascade, store, args.port)
    peak = wrk(args, server.url, 15, args.soak_connections, 0, items)
    peak_rps = float(peak.get("rps", 0))
    target = 0.8 * peak_rps
    # Twice the connections, each paced (wrk's delays are whole milliseconds, so longer periods
    # pace finer): delay = conns / target - observed latency, then corrected once by the rate a
    # warm-up run reached.
    conns = 2 * args.soak_connections
    latency_ms = float(peak.get("p50_ms", 1))
    delay = max(0, int(conns * 1000 / max(target, 1) - latency_ms))
    warm = wrk(args, server.url, 20, conns, delay, items)
    reached = float(warm.get("rps", 0)) or target
    delay = max(0, int(delay + conns * 1000 / max(target, 1) - conns * 1000 / max(reached, 1)))
    warm2 = wrk(args, server.url, 20, conns, delay, items)
    # Settle at the soak's own pace for a tenth of the soak (the two runs above count) before the
    # memory baseline: resident memory first rises for a few minutes as per-connection buffers,
    # worker stacks and malloc arenas reach their working size, then stays flat; growth is
    # measured from that steady state.
    settle = max(0, args.soak_seconds // 10 - 40)
    warm3 = wrk(args, server.url, settle, conns, delay, items) if settle > 0 else {}
    warm = {k: str(sum(int(w.get(k, 0)) for w in (warm, warm2, warm3))) for k in ("socket_errors", "status_errors")}
    rss0 = rss_kb(server.proc.pid)
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.wait(10):
            samples.append(rss_kb(server.proc.pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    run = wrk(args, server.url, args.soak_seconds, conns, delay, items)
    stop.set()
    sampler.join()
    rss1 = rss_kb(server.proc.pid)
    alive = server.alive()
    server.kill(15)
    growth = 100.0 * (rss1 - rss0) / max(rss0, 1)
    errors = int(run.get("socket_errors", -1)) + int(run.get("status_errors", -1))
    say("soak", seconds=args.soak_seconds, connections=conns, delay_ms=delay, peak_rps=f"{peak_rps:.0f}", target_rps=f"{target:.0f}", rps=run.get("rps"),
        p50_ms=run.get("p50_ms"), p99_ms=run.get("p99_ms"), requests=run.get("requests"), errors=errors,
        rss_start_mb=f"{rss0 / 1024:.1f}", rss_end_mb=f"{rss1 / 1024:.1f}", rss_max_mb=f"{max(samples or [rss1]) / 1024:.1f}",
        growth_pct=f"{growth:.2f}", rss_series_mb=",".join(f"{samples[k * len(samples) // 10] / 1024:.1f}" for k in range(10)) if samples else "",
        warmup_errors=int(warm.get("socket_errors", 0)) + int(warm.get("status_errors", 0)))
    check("soak", alive and errors == 0 and growth < 5.0, f"alive={alive} errors={errors} growth={growth:.2f}%")


def adversarial_files(rng, items):
    """(name, format, kind, bytes) of malformed and hostile inputs."""
    good = "user,item,timestamp,type\n" + "".join(f"fz-u{k},{rng.choice(items)},{1.7e9 + k},click\n" for k in range(5))
    cases = [
        ("empty", "csv", "events", b""),
        ("header-only", "csv", "events", b"user,item,timestamp\n"),
        ("missing-column", "csv", "events", b"user,item\nu1,i1\n"),
        ("extra-fields", "csv", "events", b"user,item,timestamp\nu1,i1,1,2,3\n"),
        ("unclosed-quote", "csv", "events", b'user,item,timestamp\n"u1,i1,1\n'),
        ("nan-time", "csv", "events", b"user,item,timestamp\nu1,i1,nan\n"),
        ("inf-value", "csv", "events", b"user,item,timestamp,value\nu1,i1,1,inf\n"),
        ("huge-number", "csv", "events", b"user,item,timestamp\nu1,i1," + b"9" * 400 + b"\n"),
        ("empty-id", "csv", "events", b"user,item,timestamp\n,i1,1\n"),
        ("invalid-utf8", "csv", "events", b"user,item,timestamp\n\xff\xfe\xfa,i1,1\n"),
        ("nul-bytes", "csv", "events", b"user,item,timestamp\nu\x001,i1,1\n"),
        ("bom-and-crlf", "csv", "events", b"\xef\xbb\xbfuser,item,timestamp\r\nu1,i1,1\r\n"),
        ("unknown-type", "csv", "events", b"user,item,timestamp,type\nu1,i1,1,teleport\n"),
        ("long-id", "csv", "events", b"user,item,timestamp\n" + b"u" * 100_000 + b",i1,1\n"),
        ("good-then-bad", "csv", "events", (good + "fz-u9,,1,click\n").encode()),
        ("binary", "csv", "events", bytes(rng.randrange(256) for _ in range(4096))),
        ("jsonl-broken", "jsonl", "events", b'{"user":"u1","item":"i1","timestamp":1}\n{"user":\n'),
        ("jsonl-types", "jsonl", "events", b'{"user":5,"item":["x"],"timestamp":"yesterday"}\n'),
        ("jsonl-deep", "jsonl", "events", b"[" * 100_000 + b"]" * 100_000 + b"\n"),
        ("jsonl-nan", "jsonl", "events", b'{"user":"u1","item":"i1","timestamp":NaN}\n'),
        ("items-bad-geo", "csv", "items", b"id,lat,lon\nx1,95,0\n"),
        ("items-dup", "csv", "items", b"id\nx1\nx1\n"),
        ("users-empty-id", "csv", "users", b"id,gender\n,f\n"),
        # Hostile classes: times in milliseconds (below and above the 1e11 rule), overflowing,
        # negative and future times, huge values, unnormalised and BOM-prefixed ids.
        ("time-ms", "csv", "events", f"user,item,timestamp\nfz-a,{items[0]},1765000000000\n".encode()),
        ("time-5138", "csv", "events", f"user,item,timestamp\nfz-a,{items[0]},99999999999\n".encode()),
        ("time-huge", "csv", "events", f"user,item,timestamp\nfz-a,{items[0]},1e300\n".encode()),
        ("time-negative", "csv", "events", f"user,item,timestamp\nfz-a,{items[0]},-1e15\n".encode()),
        ("time-future", "csv", "events", f"user,item,timestamp\nfz-a,{items[0]},4102444800\n".encode()),
        ("value-huge", "csv", "events", f"user,item,timestamp,value\nfz-a,{items[0]},1700000000,1e300\n".encode()),
        ("id-nfd", "csv", "events", f"user,item,timestamp\ncafe\u0301,{items[0]},1700000000\n".encode()),
        ("id-bom", "jsonl", "events", ('{"user":"\ufeffcaf\u00e9","item":"%s","timestamp":1700000001}\n' % items[0]).encode()),
        ("published-5138", "csv", "items", b"id,published\nfz-late,99999999999\n"),
    ]
    for k in range(40):  # random mutations of a good file
        data = bytearray(good.encode())
        for _ in range(rng.randint(1, 8)):
            op = rng.randrange(3)
            pos = rng.randrange(len(data)) if data else 0
            if op == 0 and data:
                data[pos] = rng.randrange(256)
            elif op == 1:
                data[pos:pos] = bytes([rng.choice(b',"\n\r\\\x00')])
            elif data:
                del data[pos:pos + rng.randint(1, 10)]
        cases.append((f"mutation-{k}", "csv", "events", bytes(data)))
    return cases


def phase_import_fuzz(args):
    store = fresh_store(args, "import")
    items = visible_items(store, 20)
    rng = random.Random(11)
    tmp = tempfile.mkdtemp()
    counts = {"files": 0, "accepted": 0, "rejected": 0, "crashes": 0, "changed_on_reject": 0, "no_message": 0}
    for name, fmt, kind, data in adversarial_files(rng, items):
        path = os.path.join(tmp, name + "." + fmt)
        with open(path, "wb") as f:
            f.write(data)
        before = query(store, "SELECT (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM items)")[0]
        p = subprocess.run([args.cascade, "import", "--store", store, "--format", fmt, f"--{kind}", path],
                           capture_output=True, text=True, errors="replace", timeout=120)
        after = query(store, "SELECT (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM items)")[0]
        counts["files"] += 1
        if p.returncode < 0 or p.returncode not in (0, 2):
            counts["crashes"] += 1
            print(f"  crash on {name}: rc={p.returncode} {p.stderr[-300:]}", flush=True)
        elif p.returncode == 0:
            counts["accepted"] += 1
        else:
            counts["rejected"] += 1
            if after != before:
                counts["changed_on_reject"] += 1
            if "error:" not in p.stderr:
                counts["no_message"] += 1
    # Whatever was accepted is in range and in canonical form (NFC, no byte-order mark).
    counts["out_of_range"] = int(query(store, "SELECT COUNT(*) FROM events WHERE ts < 0 OR ts > extract(epoch FROM now()) + 86400 "
                                              "OR abs(value) > 1e9")[0][0])
    counts["uncanonical_ids"] = int(query(store, "SELECT (SELECT COUNT(*) FROM users WHERE ext_id <> normalize(ext_id, NFC) "
                                                 "OR ext_id LIKE U&'\\FEFF%') + (SELECT COUNT(*) FROM items WHERE ext_id <> normalize(ext_id, NFC))")[0][0])
    say("import-fuzz", **counts)
    check("import-fuzz", counts["crashes"] == 0 and counts["changed_on_reject"] == 0 and counts["no_message"] == 0
          and counts["out_of_range"] == 0 and counts["uncanonical_ids"] == 0, str(counts))


def phase_api_fuzz(args):
    store = fresh_store(args, "apifuzz")
    out = subprocess.run([sys.executable, os.path.join(HERE, "fuzz-api.py"), "--cascade", args.cascade, "--store", store,
                          "--requests", str(args.fuzz_requests), "--port", str(args.port)], capture_output=True, text=True)
    lines = [l for l in out.stdout.splitlines() if l.strip()]
    say("api-fuzz", requests=args.fuzz_requests, result=(lines[-1].replace(" ", ",") if lines else "none"), rc=out.returncode)
    check("api-fuzz", out.returncode == 0, out.stdout[-300:] + out.stderr[-300:])


def phase_hostile(args):
    """Hostile events (milliseconds sent as seconds, overflowing and negative times, unnormalised
    and BOM-prefixed ids) posted under read load: each must be refused, and the other users'
    p99 must stay where it was without them."""
    ensure_wrk()
    store = fresh_store(args, "hostile")
    items = visible_items(store, 50)
    server = Server(args.cascade, store, args.port)
    base = wrk(args, server.url, args.hostile_seconds, 4, 0, items, script="wrk-recommend.lua")
    stop = threading.Event()
    posted, accepted = [0], []
    rng = random.Random(11)

    def post():
        while not stop.is_set():
            event = {"user": rng.choice([f"u{rng.randrange(1, args.users)}", "cafe\u0301", "\ufeffu1", "e\u0301\u0301"]),
                     "item": rng.choice(items),
                     "timestamp": rng.choice([1765000000000, 1e300, -1e15, 99999999999, 4102444800])}
            status, _ = request(server.url + "/api/feedback", "POST", {"events": [event]}, key="admin")
            posted[0] += 1
            if 200 <= status < 300:  # every timestamp drawn here is out of range
                accepted.append(event)
            time.sleep(0.002)

    poster = threading.Thread(target=post)
    poster.start()
    under = wrk(args, server.url, args.hostile_seconds, 4, 0, items, script="wrk-recommend.lua")
    stop.set()
    poster.join()
    after = wrk(args, server.url, 5, 4, 0, items, script="wrk-recommend.lua")
    alive = server.alive()
    server.kill(15)
    p99_base, p99_under, p99_after = (float(x.get("p99_ms", "nan")) for x in (base, under, after))
    ratio = p99_after / p99_base if p99_base > 0 else float("nan")
    say("hostile", posted=posted[0], accepted_hostile=len(accepted), p99_base_ms=base.get("p99_ms"), p99_under_ms=under.get("p99_ms"),
        p99_after_ms=after.get("p99_ms"), p99_after_ratio=f"{ratio:.2f}")
    # The posts themselves share the cores with the readers while they run; once they stop, the
    # readers must be back where they were (nothing stored slows every request).
    check("hostile", alive and not accepted and ratio < 1.5, f"alive={alive} accepted={len(accepted)} p99 ratio={ratio:.2f}")


PHASES = {"server-kill": phase_server_kill, "trainer-kill": phase_trainer_kill, "db-restart": phase_db_restart,
          "soak": phase_soak, "import-fuzz": phase_import_fuzz, "api-fuzz": phase_api_fuzz, "hostile": phase_hostile}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cascade", default=".build/release/cascade")
    ap.add_argument("--pg-dir", required=True, help="data folder of the cluster (scripts/postgres-local.sh start DIR PORT)")
    ap.add_argument("--pg-port", type=int, default=55432)
    ap.add_argument("--port", type=int, default=18091, help="HTTP port of the servers under test")
    ap.add_argument("--phases", default=",".join(PHASES), help="comma-separated: " + ", ".join(PHASES))
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--events", type=int, default=30000)
    ap.add_argument("--kill-rounds", type=int, default=10)
    ap.add_argument("--trainer-kills", type=int, default=10)
    ap.add_argument("--restart-warm", type=float, default=5)
    ap.add_argument("--restart-after", type=float, default=10)
    ap.add_argument("--soak-seconds", type=int, default=1800)
    ap.add_argument("--soak-connections", type=int, default=8, help="connections of the peak measurement (the soak paces twice as many)")
    ap.add_argument("--fuzz-requests", type=int, default=3000)
    ap.add_argument("--hostile-seconds", type=int, default=15, help="length of each read-load measurement of the hostile phase")
    args = ap.parse_args()
    t0 = time.time()
    for name in args.phases.split(","):
        if name not in PHASES:
            sys.exit(f"unknown phase {name}; known: {', '.join(PHASES)}")
        PHASES[name](args)
    print(f"verdict={'fail' if failures else 'pass'} seconds={time.time() - t0:.0f}")
    for f in failures:
        print("  failed: " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
