"""Starts and stops a `cascade serve` process for the scripts beside this file (stdlib only)."""
import argparse
import json
import os
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


def ensure_world(cascade, db, users=300, items=1000, events=30000):
    """Simulates and trains a small world into `db` unless it exists."""
    if os.path.exists(db):
        return
    subprocess.run([cascade, "simulate", "--db", db, "--users", str(users), "--items", str(items),
                    "--events", str(events)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([cascade, "train", "--db", db], check=True, stdout=subprocess.DEVNULL)


def common_arguments(description, port, seed):
    """The options every script shares: the binary, the database, the port and the seed."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--cascade", default=".build/release/cascade")
    ap.add_argument("--db", default=None, help="a trained database (default: a small simulated world in a temporary folder)")
    ap.add_argument("--port", type=int, default=port)
    ap.add_argument("--seed", type=int, default=seed)
    return ap


def prepared_world(args, name, items_limit):
    """The database of `args` (simulated and trained when absent) and up to `items_limit` of
    its visible item ids."""
    db = args.db or os.path.join(tempfile.mkdtemp(), name)
    ensure_world(args.cascade, db)
    con = sqlite3.connect(db)
    items = [r[0] for r in con.execute("SELECT ext_id FROM items WHERE hidden = 0 AND deleted = 0 LIMIT ?", (items_limit,))]
    con.close()
    return db, items


class Server:
    def __init__(self, cascade, db, port, admin_key="admin", read_key="read", extra=()):
        self.url = f"http://127.0.0.1:{port}"
        self.admin_key = admin_key
        self.read_key = read_key
        env = dict(os.environ, CASCADE_ADMIN_KEY=admin_key, CASCADE_READ_KEY=read_key)
        self.proc = subprocess.Popen([cascade, "serve", "--db", db, "--port", str(port), "--reload-interval", "0", *extra],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.proc.stderr.read().decode(errors="replace"))
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise RuntimeError("server did not answer /health within 60 s")

    def alive(self):
        return self.proc.poll() is None

    def kill(self, sig=9):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait()


def request(url, method="GET", body=None, key=None, timeout=10):
    """Returns (status, parsed JSON or text); raises on connection errors."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method)
    if key:
        req.add_header("Authorization", "Bearer " + key)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw = e.read()
        status = e.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")
