#!/usr/bin/env python3
"""Soak benchmark driver (run through hack/bench/soak.sh, which builds the control plane).

In a private temporary directory: a local control plane (hack/local-cluster.sh), a git
repository served by `git daemon`, a TCP proxy in front of kube-apiserver
(test/support/scripts/cutting_proxy.py; SIGUSR1 resets every open connection), N Applications
in namespace `soak` (app-<i>, path apps/app-<i>, 5 ConfigMaps each at the start, interval 1m,
prune, drift: correct) and `plumbline run` talking to the API server through the proxy.

Then, for --duration seconds: a commit to a random app about every 10 s (change a value, add a
ConfigMap, or remove one), a live edit of a random managed ConfigMap about every 7 s (drift, by
kubectl's own field manager), and a reset of every proxied connection every 5 minutes (the first
one at half the duration when that comes sooner, so that short runs see one too). The
controller's resident memory is sampled every 30 s.

At the end it waits (at most 5 minutes) until every Application is at HEAD and the live
ConfigMaps of each equal, by name and data.v, what the working tree holds, and its inventory
has one entry per file. It prints one table; the exit code is 1 when anything was lost, wrongly
present, or not at HEAD.

Standard library only. Every process it starts is stopped and the directory removed on exit,
Ctrl-C and errors included.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NAMESPACE = "soak"
NAME_LABEL = "plumbline.dev/name"  # controller/app/application.h kNameLabel
INITIAL_CMS = 5
COMMIT_EVERY = 10.0
DRIFT_EVERY = 7.0
RESET_EVERY = 300.0
SAMPLE_EVERY = 30.0
PROGRESS_EVERY = 60.0
READY_TIMEOUT = 600.0
CONVERGE_TIMEOUT = 300.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


class SoakError(Exception):
    pass


def log(msg):
    print(f"soak: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SoakError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SoakError(f"{what} did not listen on port {port} within {timeout:.0f} s")


def proc_status(pid):
    """VmRSS and VmHWM of pid in KiB (None when it is gone)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0])
    except OSError:
        return None
    return out


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # Fields after the command name start at field 3 (state): utime is 14, stime 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def mib(kib):
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def seconds(s):
    return "n/a" if s is None else f"{s:.1f} s"


class Soak:
    def __init__(self, args):
        self.args = args
        self.root = args.root
        self.kubectl_bin = os.path.join(args.bin_dir, "kubectl")
        self.tmp = tempfile.mkdtemp(prefix="plumbline-soak-")
        self.cluster_dir = os.path.join(self.tmp, "cluster")
        self.cluster_up = False
        self.children = []  # (name, Popen), stopped in reverse order
        self.controller = None
        self.proxy = None
        self.rng = random.Random(args.seed)
        self.work = os.path.join(self.tmp, "work")
        # What git holds: app -> {configmap name: value}; and the next ConfigMap index per app.
        self.model = {}
        self.next_cm = {}
        self.next_value = 0
        self.counts = {"commits": 0, "change": 0, "add": 0, "remove": 0,
                       "drifts": 0, "drift_misses": 0, "resets": 0}
        self.rss_samples = []
        self.controller_log = os.path.join(self.tmp, "controller.log")

    # ---- processes -------------------------------------------------------------------------

    def run(self, cmd, check=True, timeout=300, **kw):
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise SoakError(f"{' '.join(cmd[:4])}... failed ({p.returncode}): "
                            f"{p.stderr.strip()[-2000:]}")
        return p

    def start(self, name, cmd, logfile, **kw):
        out = open(logfile, "ab")
        try:
            p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True, **kw)
        finally:
            out.close()
        self.children.append((name, p))
        return p

    def stop_children(self):
        for name, p in reversed(self.children):
            if p.poll() is not None:
                continue
            try:
                # Each child leads its own session: its group holds what it forked (git daemon's
                # per-connection children).
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                p.wait(timeout=30 if p is self.controller else 5)
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop on SIGTERM; killing it")
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        self.children.clear()

    def kubectl(self, *args, check=True, stdin=None):
        return self.run([self.kubectl_bin, "--kubeconfig", self.kubeconfig, *args],
                        check=check, timeout=120, input=stdin)

    def git(self, *args):
        return self.run(["git", "-c", "user.name=soak", "-c", "user.email=soak@example.invalid",
                         "-C", self.work, *args]).stdout.strip()

    # ---- setup -----------------------------------------------------------------------------

    def start_cluster(self):
        log(f"starting a control plane in {self.cluster_dir}")
        p = self.run([os.path.join(self.root, "hack/local-cluster.sh"), "up", "--dir",
                      self.cluster_dir, "--owner-pid", str(os.getpid())], check=False,
                     timeout=900)
        self.cluster_up = True
        if p.returncode != 0:
            raise SoakError(f"hack/local-cluster.sh up failed:\n{p.stderr[-3000:]}")
        last = p.stdout.strip().splitlines()[-1]
        if not last.startswith("export KUBECONFIG="):
            raise SoakError(f"unexpected last line from local-cluster.sh up: {last!r}")
        self.kubeconfig = last[len("export KUBECONFIG="):]
        with open(self.kubeconfig) as f:
            text = f.read()
        m = re.search(r"server: https://127\.0\.0\.1:(\d+)", text)
        if not m:
            raise SoakError("no loopback server in the cluster's kubeconfig")
        self.api_port = int(m.group(1))
        self.kubeconfig_text = text

    def start_proxy(self):
        self.proxy_port = free_port()
        self.proxy_log = os.path.join(self.tmp, "proxy.log")
        script = os.path.join(self.root, "test/support/scripts/cutting_proxy.py")
        self.proxy = self.start("proxy", [sys.executable, script, str(self.proxy_port),
                                          str(self.api_port), "0", "0", self.proxy_log],
                                os.path.join(self.tmp, "proxy.out"))
        wait_port(self.proxy_port, self.proxy, "the proxy")
        self.proxied_kubeconfig = os.path.join(self.tmp, "kubeconfig-proxied")
        text = self.kubeconfig_text.replace(f"server: https://127.0.0.1:{self.api_port}",
                                            f"server: https://127.0.0.1:{self.proxy_port}")
        with open(self.proxied_kubeconfig, "w") as f:
            f.write(text)

    def setup_api(self):
        crd = os.path.join(self.root, "crds/application.yaml")
        self.kubectl("apply", "-f", crd)
        self.kubectl("wait", "--for=condition=Established",
                     "crd/applications.plumbline.dev", "--timeout=60s")
        self.kubectl("create", "namespace", NAMESPACE)

    def write_cm(self, app, name, value):
        d = os.path.join(self.work, "apps", app)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"{name[len(app) + 1:]}.yaml"), "w") as f:
            f.write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                    f"  name: {name}\ndata:\n  v: \"{value}\"\n")

    def new_value(self):
        self.next_value += 1
        return str(self.next_value)

    def setup_git(self):
        repos = os.path.join(self.tmp, "repos")
        bare = os.path.join(repos, "deploy.git")
        os.makedirs(repos)
        self.run(["git", "init", "-q", "--bare", "-b", "main", bare])
        self.run(["git", "init", "-q", "-b", "main", self.work])
        self.git("remote", "add", "origin", bare)
        for i in range(self.args.apps):
            app = f"app-{i}"
            self.model[app] = {}
            for j in range(INITIAL_CMS):
                name, value = f"{app}-cm-{j}", self.new_value()
                self.model[app][name] = value
                self.write_cm(app, name, value)
            self.next_cm[app] = INITIAL_CMS
        self.git("add", "-A")
        self.git("commit", "-q", "-m", f"soak: {self.args.apps} apps")
        self.git("push", "-q", "origin", "main")
        self.head = self.git("rev-parse", "HEAD")

        port = free_port()
        daemon = self.start("git daemon", [
            "git", "daemon", "--reuseaddr", f"--base-path={repos}", "--export-all",
            f"--port={port}", "--listen=127.0.0.1", repos], os.path.join(self.tmp, "git-daemon.log"))
        wait_port(port, daemon, "git daemon")
        self.repo_url = f"git://127.0.0.1:{port}/deploy.git"

    def create_apps(self):
        items = []
        for i in range(self.args.apps):
            items.append({
                "apiVersion": "plumbline.dev/v1alpha1", "kind": "Application",
                "metadata": {"name": f"app-{i}", "namespace": NAMESPACE},
                "spec": {"source": {"repoURL": self.repo_url, "path": f"apps/app-{i}"},
                         "destination": {"namespace": NAMESPACE},
                         "interval": "1m", "prune": True, "drift": "correct"},
            })
        self.kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                          "items": items}))

    def start_controller(self):
        self.metrics_port = free_port()
        health_port = free_port()
        cmd = [os.path.join(self.root, "build/plumbline"), "run",
               "--kubeconfig", self.proxied_kubeconfig,
               "--watch-namespace", NAMESPACE, "--controller-namespace", NAMESPACE,
               "--metrics-addr", f"127.0.0.1:{self.metrics_port}",
               "--health-addr", f"127.0.0.1:{health_port}",
               "--cache-dir", os.path.join(self.tmp, "cache")]
        self.controller = self.start("plumbline", cmd, self.controller_log)
        self.controller_started = time.monotonic()

    # ---- observation -----------------------------------------------------------------------

    def check_controller(self):
        if self.controller.poll() is not None:
            raise SoakError(f"the controller exited with {self.controller.returncode}")

    def applications(self):
        out = self.kubectl("get", "applications", "-n", NAMESPACE, "-o", "json").stdout
        return {a["metadata"]["name"]: a for a in json.loads(out)["items"]}

    def live_configmaps(self):
        """app -> {name: data.v} of the ConfigMaps labelled as that app's."""
        out = self.kubectl("get", "configmaps", "-n", NAMESPACE, "-l", NAME_LABEL,
                           "-o", "json").stdout
        live = {}
        for cm in json.loads(out)["items"]:
            app = cm["metadata"].get("labels", {}).get(NAME_LABEL, "")
            live.setdefault(app, {})[cm["metadata"]["name"]] = (cm.get("data") or {}).get("v")
        return live

    @staticmethod
    def ready(app):
        for c in app.get("status", {}).get("conditions", []):
            if c.get("type") == "Ready":
                return c.get("status") == "True"
        return False

    def at_head(self, apps):
        return [n for n, a in apps.items()
                if a.get("status", {}).get("lastAppliedRevision") == self.head and self.ready(a)]

    def sample_rss(self):
        st = proc_status(self.controller.pid)
        if st and "VmRSS" in st:
            self.rss_samples.append(st["VmRSS"])
        return st

    def working_tree(self):
        """app -> {name: v}, read back from the files of the working tree."""
        tree = {}
        apps_dir = os.path.join(self.work, "apps")
        for app in sorted(os.listdir(apps_dir)):
            for fname in sorted(os.listdir(os.path.join(apps_dir, app))):
                with open(os.path.join(apps_dir, app, fname)) as f:
                    text = f.read()
                name = re.search(r"^  name: (\S+)$", text, re.M).group(1)
                value = re.search(r'^  v: "([^"]*)"$', text, re.M).group(1)
                tree.setdefault(app, {})[name] = value
        return tree

    def metrics(self):
        """Sums of a few controller metrics (empty when /metrics cannot be read)."""
        import urllib.request
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                        timeout=10) as r:
                text = r.read().decode()
        except OSError:
            return {}
        sums = {}
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            m = re.match(r'^(\w+)(\{[^}]*\})?\s+(\S+)$', line)
            if not m:
                continue
            name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
            key = name
            if name == "plumbline_reconcile_total":
                key += '{result="failure"}' if 'result="failure"' in labels else ""
            if name == "plumbline_kube_requests_total" and 'code="0"' in labels:
                key += '{code="0"}'
            sums[key] = sums.get(key, 0) + value
        return sums

    # ---- the soak --------------------------------------------------------------------------

    def commit(self):
        app = self.rng.choice(sorted(self.model))
        cms = self.model[app]
        ops = ["change", "add"] + (["remove"] if len(cms) > 1 else [])
        op = self.rng.choice(ops)
        if op == "change":
            name = self.rng.choice(sorted(cms))
            cms[name] = self.new_value()
            self.write_cm(app, name, cms[name])
        elif op == "add":
            name = f"{app}-cm-{self.next_cm[app]}"
            self.next_cm[app] += 1
            cms[name] = self.new_value()
            self.write_cm(app, name, cms[name])
        else:
            name = self.rng.choice(sorted(cms))
            del cms[name]
            os.remove(os.path.join(self.work, "apps", app, f"{name[len(app) + 1:]}.yaml"))
        self.git("add", "-A")
        self.git("commit", "-q", "-m", f"soak: {op} {name}")
        self.git("push", "-q", "origin", "main")
        self.head = self.git("rev-parse", "HEAD")
        self.counts["commits"] += 1
        self.counts[op] += 1

    def drift(self):
        live = self.live_configmaps()
        names = sorted(n for app, cms in live.items() for n in cms)
        if not names:
            self.counts["drift_misses"] += 1
            return
        name = self.rng.choice(names)
        p = self.kubectl("patch", "configmap", name, "-n", NAMESPACE, "--type", "merge",
                         "-p", '{"data":{"v":"drifted"}}', check=False)
        if p.returncode == 0:
            self.counts["drifts"] += 1
        else:  # pruned between the list and the patch
            self.counts["drift_misses"] += 1

    def reset(self):
        os.kill(self.proxy.pid, signal.SIGUSR1)
        self.counts["resets"] += 1

    def wait_ready(self):
        log(f"waiting (at most {READY_TIMEOUT:.0f} s) for {self.args.apps} Applications to be "
            "Ready at HEAD")
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            self.check_controller()
            apps = self.applications()
            n = len(self.at_head(apps))
            if n == self.args.apps:
                self.ready_after = time.monotonic() - self.controller_started
                return
            if time.monotonic() > deadline:
                raise SoakError(f"only {n}/{self.args.apps} Applications Ready at HEAD after "
                                f"{READY_TIMEOUT:.0f} s")
            time.sleep(2)

    def soak(self):
        duration = self.args.duration
        t0 = time.monotonic()
        end = t0 + duration
        nxt = {"commit": t0 + COMMIT_EVERY, "drift": t0 + DRIFT_EVERY,
               "reset": t0 + min(RESET_EVERY, duration / 2), "sample": t0 + SAMPLE_EVERY,
               "progress": t0 + PROGRESS_EVERY}
        every = {"commit": COMMIT_EVERY, "drift": DRIFT_EVERY, "reset": RESET_EVERY,
                 "sample": SAMPLE_EVERY, "progress": PROGRESS_EVERY}
        actions = {"commit": self.commit, "drift": self.drift, "reset": self.reset,
                   "sample": self.sample_rss, "progress": lambda: self.progress(t0)}
        log(f"soaking for {duration} s")
        while True:
            self.check_controller()
            now = time.monotonic()
            if now >= end:
                break
            due = [k for k, t in nxt.items() if t <= now]
            for k in due:
                actions[k]()
                # Keep the cadence; a slow action does not make the next ones pile up.
                nxt[k] = max(nxt[k] + every[k], time.monotonic())
            if not due:
                time.sleep(max(0.0, min(min(nxt.values()), end) - time.monotonic()))

    def progress(self, t0):
        st = self.sample_rss() or {}
        apps = self.applications()
        c = self.counts
        print(f"[{time.monotonic() - t0:6.0f} s] commits {c['commits']}, drifts {c['drifts']}, "
              f"resets {c['resets']}, RSS {mib(st.get('VmRSS'))}, "
              f"Ready at HEAD {len(self.at_head(apps))}/{self.args.apps}", flush=True)

    def converge(self):
        """Waits until the cluster equals the working tree; returns the last comparison."""
        log(f"waiting (at most {CONVERGE_TIMEOUT:.0f} s) for everything to converge to "
            f"{self.head[:12]}")
        t0 = time.monotonic()
        deadline = t0 + CONVERGE_TIMEOUT
        tree = self.working_tree()
        if tree != self.model:
            raise SoakError("the working tree does not hold what the soak wrote (script bug)")
        while True:
            self.check_controller()
            result = self.compare(tree)
            if not (result["lost"] or result["wrong"] or result["not_at_head"]
                    or result["inventory"]):
                result["converged_after"] = time.monotonic() - t0
                return result
            if time.monotonic() > deadline:
                result["converged_after"] = None
                return result
            time.sleep(3)

    def compare(self, tree):
        apps = self.applications()
        live = self.live_configmaps()
        result = {"lost": [], "wrong": [], "not_at_head": [], "inventory": []}
        for app, want in tree.items():
            have = live.get(app, {})
            for name, v in want.items():
                if have.get(name) != v:
                    result["lost"].append(f"{name} (git {v!r}, live {have.get(name)!r})")
            for name, v in have.items():
                if name not in want:
                    result["wrong"].append(f"{name} (live {v!r}, not in git)")
            a = apps.get(app, {})
            st = a.get("status", {})
            if st.get("lastAppliedRevision") != self.head or not self.ready(a):
                result["not_at_head"].append(
                    f"{app} (at {str(st.get('lastAppliedRevision'))[:12]}, "
                    f"Ready {self.ready(a)})")
            inv = len(st.get("inventory", []))
            if inv != len(want):
                result["inventory"].append(f"{app} (inventory {inv}, files {len(want)})")
        for app, have in live.items():
            if app not in tree:
                result["wrong"].extend(f"{n} (labelled {app!r}, no such app)" for n in have)
        return result

    # ---- main ------------------------------------------------------------------------------

    def main(self):
        args = self.args
        print(f"soak: seed {args.seed}, {args.apps} apps, {args.duration} s", flush=True)
        self.start_cluster()
        self.start_proxy()
        self.setup_api()
        self.setup_git()
        self.create_apps()
        self.start_controller()
        self.wait_ready()
        rss_start = (self.sample_rss() or {}).get("VmRSS")
        log(f"all Ready at HEAD after {self.ready_after:.1f} s; RSS {mib(rss_start)}")
        wall0 = time.monotonic()
        self.soak()
        soaked = time.monotonic() - wall0
        result = self.converge()
        st = proc_status(self.controller.pid) or {}
        cpu = cpu_seconds(self.controller.pid)
        met = self.metrics()
        with open(self.proxy_log) as f:
            cut = sum(int(l.split()[1]) for l in f if l.startswith("reset "))

        c = self.counts
        failures = met.get('plumbline_reconcile_total{result="failure"}', 0)
        unanswered = met.get('plumbline_kube_requests_total{code="0"}', 0)
        rows = [
            ("duration", f"{soaked:.0f} s (seed {args.seed})"),
            ("apps", str(args.apps)),
            ("commits", f"{c['commits']} (change {c['change']}, add {c['add']}, "
                        f"remove {c['remove']})"),
            ("drifts", f"{c['drifts']} (+{c['drift_misses']} patches that missed)"),
            ("resets", f"{c['resets']} ({cut} connections reset)"),
            ("time to all Ready at start", seconds(self.ready_after)),
            ("time to converge at the end",
             seconds(result["converged_after"]) if result["converged_after"] is not None
             else f"not within {CONVERGE_TIMEOUT:.0f} s"),
            ("RSS at start", mib(rss_start)),
            ("RSS at end", mib(st.get("VmRSS"))),
            ("peak RSS (VmHWM)", mib(st.get("VmHWM"))),
            ("RSS samples min / max",
             f"{mib(min(self.rss_samples))} / {mib(max(self.rss_samples))} "
             f"({len(self.rss_samples)} samples)" if self.rss_samples else "n/a"),
            ("controller CPU", "n/a" if cpu is None else
             f"{cpu:.1f} s ({100 * cpu / (time.monotonic() - self.controller_started):.1f}% "
             "of one core)"),
            ("drift corrected (metric)",
             f"{met.get('plumbline_drift_corrected_total', 0):.0f}" if met else "n/a"),
            ("failed reconciles (metric)",
             f"{failures:.0f} of "
             f"{met.get('plumbline_reconcile_total', 0):.0f}" if met else "n/a"),
            ("API requests with no answer",
             f"{unanswered:.0f} of "
             f"{met.get('plumbline_kube_requests_total', 0):.0f}" if met else "n/a"),
            ("objects lost", str(len(result["lost"]))),
            ("objects wrongly present", str(len(result["wrong"]))),
            ("apps not at HEAD", str(len(result["not_at_head"]))),
            ("apps with a wrong inventory size", str(len(result["inventory"]))),
        ]
        width = max(len(k) for k, _ in rows)
        print()
        print(f"{'':-<{width}}  {'':-<40}")
        for k, v in rows:
            print(f"{k:<{width}}  {v}")
        print(f"{'':-<{width}}  {'':-<40}", flush=True)

        failed = False
        for key, title in (("lost", "lost"), ("wrong", "wrongly present"),
                           ("not_at_head", "not at HEAD"), ("inventory", "wrong inventory")):
            if result[key]:
                failed = True
                print(f"\n{title}:")
                for line in result[key][:20]:
                    print(f"  {line}")
                if len(result[key]) > 20:
                    print(f"  ... and {len(result[key]) - 20} more")
        if failed:
            self.print_log_tail()
            return 1
        return 0

    def print_log_tail(self):
        try:
            with open(self.controller_log, errors="replace") as f:
                lines = f.readlines()[-50:]
        except OSError:
            return
        print("\nlast 50 lines of the controller log:")
        sys.stdout.write("".join(lines))
        sys.stdout.flush()

    def cleanup(self):
        self.stop_children()
        if self.cluster_up:
            p = subprocess.run([os.path.join(self.root, "hack/local-cluster.sh"), "down", "--dir",
                                self.cluster_dir], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                log(f"local-cluster.sh down failed: {p.stderr.strip()}")
        if self.args.keep_tmp:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(
        prog="hack/bench/soak.sh",
        description="Soak benchmark of plumbline run: commits, drift and connection resets "
                    "for a while, then checks the cluster converged to git.")
    parser.add_argument("--duration", type=int, default=3600, help="seconds of soak (3600)")
    parser.add_argument("--apps", type=int, default=100, help="Applications (100)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--keep-tmp", action="store_true",
                        help="keep the temporary directory (logs, repository) for inspection")
    parser.add_argument("--root", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--bin-dir", required=True, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.duration <= 0 or args.apps <= 0:
        parser.error("--duration and --apps must be positive")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 31)

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    soak = Soak(args)
    code = 1
    try:
        code = soak.main()
    except SoakError as e:
        log(f"error: {e}")
        if soak.controller is not None:
            soak.print_log_tail()
    except KeyboardInterrupt:
        log("interrupted")
        code = 130
    finally:
        # No second Ctrl-C or SIGTERM may cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        soak.cleanup()
    return code


if __name__ == "__main__":
    sys.exit(main())
