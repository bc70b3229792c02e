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
import signal
import sys
import time

import benchlib
from benchlib import BenchError as SoakError
from benchlib import cpu_seconds, log, mib, proc_status, seconds

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


class Soak(benchlib.Bench):
    def __init__(self, args):
        super().__init__("soak", args.root, args.bin_dir, args.keep_tmp)
        self.args = args
        self.proxy = None
        self.rng = random.Random(args.seed)
        # What git holds: app -> {configmap name: value}; and the next ConfigMap index per app.
        self.model = {}
        self.next_cm = {}
        self.next_value = 0
        self.counts = {"commits": 0, "change": 0, "add": 0, "remove": 0,
                       "drifts": 0, "drift_misses": 0, "resets": 0}
        self.rss_samples = []

    # ---- setup -----------------------------------------------------------------------------

    def start_proxy(self):
        self.proxy_port = benchlib.free_port()
        self.proxy_log = os.path.join(self.tmp, "proxy.log")
        script = os.path.join(self.root, "test/support/scripts/cutting_proxy.py")
        self.proxy = self.start("proxy", [sys.executable, script, str(self.proxy_port),
                                          str(self.api_port), "0", "0", self.proxy_log],
                                os.path.join(self.tmp, "proxy.out"))
        benchlib.wait_port(self.proxy_port, self.proxy, "the proxy")
        self.proxied_kubeconfig = os.path.join(self.tmp, "kubeconfig-proxied")
        text = self.kubeconfig_text.replace(f"server: https://127.0.0.1:{self.api_port}",
                                            f"server: https://127.0.0.1:{self.proxy_port}")
        with open(self.proxied_kubeconfig, "w") as f:
            f.write(text)

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
        repos = self.init_repo()
        for i in range(self.args.apps):
            app = f"app-{i}"
            self.model[app] = {}
            for j in range(INITIAL_CMS):
                name, value = f"{app}-cm-{j}", self.new_value()
                self.model[app][name] = value
                self.write_cm(app, name, value)
            self.next_cm[app] = INITIAL_CMS
        self.head = self.commit_and_push(f"soak: {self.args.apps} apps")
        self.repo_url = self.serve_git(repos)

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

    def applications(self):
        return super().applications(NAMESPACE)

    def live_configmaps(self):
        """app -> {name: data.v} of the ConfigMaps labelled as that app's."""
        out = self.kubectl("get", "configmaps", "-n", NAMESPACE, "-l", NAME_LABEL,
                           "-o", "json").stdout
        live = {}
        for cm in json.loads(out)["items"]:
            app = cm["metadata"].get("labels", {}).get(NAME_LABEL, "")
            live.setdefault(app, {})[cm["metadata"]["name"]] = (cm.get("data") or {}).get("v")
        return live

    ready = staticmethod(benchlib.ready)

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
        samples = benchlib.scrape_metrics(self.metrics_port)
        if samples is None:
            return {}
        sums = {}
        for name, labels, value in samples:
            key = name
            if name == "plumbline_reconcile_total":
                key += '{result="failure"}' if labels.get("result") == "failure" else ""
            if name == "plumbline_kube_requests_total" and labels.get("code") == "0":
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
        self.head = self.commit_and_push(f"soak: {op} {name}")
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
        self.install_crd(NAMESPACE)
        self.setup_git()
        self.create_apps()
        self.start_controller(self.proxied_kubeconfig, NAMESPACE)
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

    benchlib.set_log_prefix("soak")
    benchlib.install_signal_handlers()
    soak = Soak(args)
    return benchlib.guarded(soak, soak.main)


if __name__ == "__main__":
    sys.exit(main())
