#!/usr/bin/env python3
"""Starts, checks and stops a deployment described by one JSON file (see deploy/three-servers.json):
several `cascade serve` processes and one `cascade train --schedule` trainer on one store.

    python3 scripts/deploy.py start deploy/three-servers.json    # seeds an empty store first
    python3 scripts/deploy.py status deploy/three-servers.json
    python3 scripts/deploy.py stop deploy/three-servers.json

Keys of the config: store (postgres:// URL), cascade (binary), run_dir (pid and log files), env
(extra environment, e.g. key digests), config (a `cascade config init` file every server and the
trainer read), servers ([{host, port}]), serve_args (flags for every server), trainer
({schedule_seconds, args}), seed_world (`cascade simulate` options used when the store is empty).
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from server_harness import store_has_events  # noqa: E402


def load(path):
    with open(path) as f:
        c = json.load(f)
    for key in ("store", "servers"):
        if key not in c:
            sys.exit(f"{path}: missing '{key}'")
    c.setdefault("cascade", ".build/release/cascade")
    c.setdefault("run_dir", "/tmp/cascade-deployment")
    c.setdefault("env", {})
    c.setdefault("serve_args", [])
    # The deployment's settings: one config file (cascade config init) read by every server
    # and the trainer, so they serve and train the same funnel.
    c["config_args"] = ["--config", c["config"]] if c.get("config") else []
    return c


def spawn(c, name, argv):
    os.makedirs(c["run_dir"], exist_ok=True)
    log = open(os.path.join(c["run_dir"], name + ".log"), "ab")
    env = dict(os.environ, **c["env"])
    p = subprocess.Popen(argv, stdout=log, stderr=log, env=env, start_new_session=True)
    with open(os.path.join(c["run_dir"], name + ".pid"), "w") as f:
        f.write(str(p.pid))
    return p


def healthy(host, port):
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=1) as r:
            return r.status == 200
    except Exception:
        return False


def start(c):
    if not store_has_events(c["cascade"], c["store"]):
        print("store is empty: seeding a simulated world and training once", flush=True)
        subprocess.run([c["cascade"], "simulate", "--store", c["store"], *c.get("seed_world", [])], check=True)
        subprocess.run([c["cascade"], "train", "--store", c["store"], *c["config_args"]], check=True, stdout=subprocess.DEVNULL)
    for k, s in enumerate(c["servers"]):
        spawn(c, f"server-{k}", [c["cascade"], "serve", "--store", c["store"], "--host", s.get("host", "127.0.0.1"),
                                 "--port", str(s["port"]), *c["config_args"], *c["serve_args"]])
    if "trainer" in c:
        t = c["trainer"]
        spawn(c, "trainer", [c["cascade"], "train", "--store", c["store"], "--schedule", str(t.get("schedule_seconds", 900)),
                             *c["config_args"], *t.get("args", [])])
    deadline = time.time() + 120
    while time.time() < deadline and not all(healthy(s.get("host", "127.0.0.1"), s["port"]) for s in c["servers"]):
        time.sleep(0.5)
    status(c)


def pids(c):
    out = {}
    if not os.path.isdir(c["run_dir"]):
        return out
    for name in sorted(os.listdir(c["run_dir"])):
        if name.endswith(".pid"):
            with open(os.path.join(c["run_dir"], name)) as f:
                out[name[:-4]] = int(f.read().strip() or 0)
    return out


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def status(c):
    ok = True
    for name, pid in pids(c).items():
        up = alive(pid)
        extra = ""
        if name.startswith("server-"):
            s = c["servers"][int(name.split("-")[1])]
            up = up and healthy(s.get("host", "127.0.0.1"), s["port"])
            extra = f" port={s['port']}"
        ok = ok and up
        print(f"process={name} pid={pid} up={int(up)}{extra}")
    return ok


def stop(c):
    for name, pid in pids(c).items():
        if alive(pid):
            os.killpg(pid, signal.SIGTERM)
        os.remove(os.path.join(c["run_dir"], name + ".pid"))
        print(f"stopped {name} (pid {pid})")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "status", "stop"):
        sys.exit(__doc__)
    c = load(sys.argv[2])
    if sys.argv[1] == "start":
        start(c)
    elif sys.argv[1] == "status":
        sys.exit(0 if status(c) else 1)
    else:
        stop(c)


if __name__ == "__main__":
    main()
