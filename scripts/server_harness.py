"""Starts and stops a `cascade serve` process for the scripts beside this file (stdlib only)."""
import argparse
import json
import os
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request


def is_postgres(store):
    return store.startswith("postgres://") or store.startswith("postgresql://")


def query(store, sql, params=()):
    """Rows of `sql` on the store: an SQLite file through sqlite3, PostgreSQL through psql
    (in the URL's schema). `params` are bound (sqlite3) or passed as psql variables."""
    if not is_postgres(store):
        con = sqlite3.connect(store)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()
    parts = urllib.parse.urlsplit(store)
    q = urllib.parse.parse_qs(parts.query)
    url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    env = dict(os.environ)
    if "schema" in q:
        env["PGOPTIONS"] = "-c search_path=" + q["schema"][0]
    out = subprocess.run(["psql", url, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         env=env, check=True, capture_output=True, text=True).stdout
    return [tuple(line.split("\t")) for line in out.splitlines() if line]


def store_has_events(cascade, store):
    if not is_postgres(store):
        return os.path.exists(store)
    try:
        return int(query(store, "SELECT COUNT(*) FROM events")[0][0]) > 0
    except subprocess.CalledProcessError:
        return False


def ensure_world(cascade, db, users=300, items=1000, events=30000):
    """Simulates and trains a small world into the store `db` (an SQLite path or a postgres://
    URL) unless it holds one already."""
    if store_has_events(cascade, db):
        return
    subprocess.run([cascade, "simulate", "--store", db, "--users", str(users), "--items", str(items),
                    "--events", str(events)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([cascade, "train", "--store", db], check=True, stdout=subprocess.DEVNULL)


def common_arguments(description, port, seed):
    """The options every script shares: the binary, the database, the port and the seed."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--cascade", default=".build/release/cascade")
    ap.add_argument("--db", "--store", dest="db", default=None,
                    help="a trained store: an SQLite file or a postgres:// URL (default: a small simulated world in a temporary folder)")
    ap.add_argument("--port", type=int, default=port)
    ap.add_argument("--seed", type=int, default=seed)
    return ap


def prepared_world(args, name, items_limit):
    """The database of `args` (simulated and trained when absent) and up to `items_limit` of
    its visible item ids."""
    db = args.db or os.path.join(tempfile.mkdtemp(), name)
    ensure_world(args.cascade, db)
    visible = "NOT hidden AND NOT deleted" if is_postgres(db) else "hidden = 0 AND deleted = 0"
    items = [r[0] for r in query(db, f"SELECT ext_id FROM items WHERE {visible} ORDER BY idx LIMIT {int(items_limit)}")]
    return db, items


class Server:
    def __init__(self, cascade, db, port, admin_key="admin", read_key="read", extra=()):
        self.url = f"http://127.0.0.1:{port}"
        self.admin_key = admin_key
        self.read_key = read_key
        env = dict(os.environ, CASCADE_ADMIN_KEY=admin_key, CASCADE_READ_KEY=read_key)
        self.proc = subprocess.Popen([cascade, "serve", "--store", db, "--port", str(port), "--reload-interval", "0", *extra],
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
    if data is not None or method in ("POST", "PUT", "PATCH"):
        req.add_header("Content-Type", "application/json")  # every write declares JSON (SECURITY.md)
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
