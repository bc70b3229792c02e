#!/usr/bin/env python3
"""Scale benchmark driver (run through hack/bench/scale.sh): Plumbline against the physical limit.

For each size N (--sizes, default 100, 300 and 1,000 Applications), in a fresh private directory
with a fresh local control plane (hack/local-cluster.sh, no controller-manager):

1. The raw limit. The same 10 objects per app that git will hold (a Namespace, 5 ConfigMaps,
   2 Secrets, a ServiceAccount and a ClusterIP Service), but in namespaces raw-<i>, are applied
   with server-side apply (PATCH application/apply-patch+yaml, field manager scale-raw, force)
   by --raw-concurrency threads, each with its own persistent HTTPS connection: the Namespaces
   first, all at once, then the other 9N objects. Its wall time is the raw SSA limit.
2. Convergence. A git repository served by `git daemon` holds apps/app-<i>/ (those objects, one
   YAML file each); N Applications in namespace `scale` (interval 1m, prune, destination
   app-<i>) are created, then `plumbline run` is started. The time from its start until every
   Application is Ready at HEAD (followed by a watch, checked every 0.5 s) is compared with the raw limit; its
   requests are read from its /metrics (plumbline_kube_requests_total{verb,code}), its CPU
   and memory from /proc.
3. Idle. From 5 s after all Ready, for --idle-seconds: requests per minute by verb and the
   reconciles made (plumbline_reconcile_total), so requests per idle reconcile.
4. Restart. SIGTERM, then a new process over the unchanged objects, until every Application
   has been reconciled by it and is Ready (its time), and 5 s more so that the start-up's
   last watches are counted: its requests by verb, and the writes among them.

The API server's audit log records the controller's requests only (the controller uses the
kubeconfig's client certificate, everything else here the cluster's static token), so each
window is also broken down by what was asked for: the managed objects one by one, the managed
kinds (list, watch), the Applications, Events. One table at the end, one column per size.

Standard library only. Every process it starts is stopped and every directory removed on exit,
Ctrl-C and errors included. It measures; it asserts nothing (the exit code is 1 only when a
run could not finish).
"""
import argparse
import base64
import concurrent.futures
import datetime
import http.client
import ipaddress
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import benchlib
from benchlib import BenchError, cpu_seconds, log, proc_status

NAMESPACE = "scale"
OBJECTS_PER_APP = 10
RAW_MANAGER = "scale-raw"
POLL_EVERY = 0.5
PROGRESS_EVERY = 10.0
SETTLE = 5.0  # s after all Ready before the idle window, and after the restart's
RESTART_STOP_TIMEOUT = 30.0
# plumbline_kube_requests_total verbs (controller/kube/rest_client.cc); the rest are writes.
READ_VERBS = ("get", "list", "watch", "discovery")
VERB_ORDER = ("get", "list", "watch", "discovery", "apply", "create", "update", "delete")
# The resources of the objects in git, and how the raw client addresses them.
KINDS = {"Namespace": ("namespaces", False), "ConfigMap": ("configmaps", True),
         "Secret": ("secrets", True), "ServiceAccount": ("serviceaccounts", True),
         "Service": ("services", True)}
MANAGED = {plural for plural, _ in KINDS.values()}
# The user of the client certificate in hack/local-cluster.sh's kubeconfig (the controller's),
# and of its static token (this driver's and kubectl's).
CONTROLLER_USER = "plumbline-admin"
AUDIT_POLICY = f"""apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: [{CONTROLLER_USER}]
- level: None
"""
AUDIT_WRITES = ("create", "update", "patch", "delete", "deletecollection")
AUDIT_CLASSES = ("objects", "kinds", "applications", "events", "other")


# ---- the objects ---------------------------------------------------------------------------

def app_objects(i, ns):
    """The 10 objects of app i with their namespace ns (the Namespace ns itself first)."""
    app = f"app-{i}"

    def meta(name):
        return {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/part-of": app}}

    objs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}]
    for j in range(5):
        objs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(f"config-{j}"),
                     "data": {f"key-{k}": f"{app} config {j} value {k} " + "x" * 40
                              for k in range(3)}})
    objs.append({"apiVersion": "v1", "kind": "Secret", "metadata": meta("credentials"),
                 "type": "Opaque",
                 "stringData": {"username": app, "password": f"password-{i}"}})
    objs.append({"apiVersion": "v1", "kind": "Secret", "metadata": meta("token"),
                 "type": "Opaque",
                 "data": {"token": base64.b64encode(f"token-{i}".encode()).decode()}})
    objs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("app")})
    objs.append({"apiVersion": "v1", "kind": "Service", "metadata": meta("web"),
                 "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": "web"},
                          "ports": [{"name": "http", "port": 80, "targetPort": 8080,
                                     "protocol": "TCP"}]}})
    assert len(objs) == OBJECTS_PER_APP
    return objs


def object_path(obj):
    plural, namespaced = KINDS[obj["kind"]]
    m = obj["metadata"]
    if namespaced:
        return f"/api/v1/namespaces/{m['namespace']}/{plural}/{m['name']}"
    return f"/api/v1/{plural}/{m['name']}"


def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (dict, list)):  # empty
        return "{}" if isinstance(v, dict) else "[]"
    return json.dumps(v)  # a double-quoted YAML string


def yaml_lines(v, indent):
    pad = " " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(x, (dict, list)) and x:
                yield f"{pad}{k}:"
                yield from yaml_lines(x, indent + 2)
            else:
                yield f"{pad}{k}: {yaml_scalar(x)}"
    else:
        for x in v:
            if isinstance(x, dict) and x:
                lines = list(yaml_lines(x, indent + 2))
                yield f"{pad}- {lines[0][indent + 2:]}"
                yield from lines[1:]
            else:
                yield f"{pad}- {yaml_scalar(x)}"


def to_yaml(obj):
    return "\n".join(yaml_lines(obj, 0)) + "\n"


# ---- a plain API client --------------------------------------------------------------------

class KubeAPI:
    """HTTPS requests to the API server of a kubeconfig as hack/local-cluster.sh writes it (one
    cluster; a client certificate or a token), over one persistent connection per thread."""

    def __init__(self, kubeconfig, key_dir):
        with open(kubeconfig) as f:
            text = f.read()

        def field(name):
            m = re.search(rf"^\s*{name}: (\S+)\s*$", text, re.M)
            return m.group(1) if m else None

        m = re.match(r"https://([^:/]+):(\d+)$", field("server") or "")
        if not m:
            raise BenchError(f"no https server in {kubeconfig}")
        self.host, self.port = m.group(1), int(m.group(2))
        ca = field("certificate-authority-data")
        self.context = ssl.create_default_context(
            cadata=base64.b64decode(ca).decode() if ca else None)
        self.headers = {"Accept": "application/json"}
        cert, key, token = (field("client-certificate-data"), field("client-key-data"),
                            field("token"))
        if cert and key:
            paths = []
            for name, data in (("client.crt", cert), ("client.key", key)):
                path = os.path.join(key_dir, name)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(base64.b64decode(data))
                paths.append(path)
            self.context.load_cert_chain(*paths)
        elif token:
            self.headers["Authorization"] = f"Bearer {token}"
        else:
            raise BenchError(f"no client certificate or token in {kubeconfig}")
        self.local = threading.local()

    def request(self, method, path, body=None, content_type="application/json", attempts=3):
        """(status, body) of one request; reconnects when the connection broke."""
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = content_type
        for attempt in range(attempts):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPSConnection(
                    self.host, self.port, context=self.context, timeout=60)
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                self.local.conn = None
                if attempt == attempts - 1:
                    raise BenchError(f"{method} {path}: {e}") from e
                time.sleep(0.2)

    def get_json(self, path):
        status, data = self.request("GET", path)
        if status != 200:
            raise BenchError(f"GET {path}: HTTP {status}: {data[:300]!r}")
        return json.loads(data)


class ApplicationWatch:
    """The Applications as one list and then a watch keep them: the driver must not load the API
    server it measures (a LIST of 1,000 custom resources every 0.5 s would, by seconds of CPU)."""

    def __init__(self, api, path):
        self.api, self.path = api, path
        self.lock = threading.Lock()
        self.apps, self.listed = {}, threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            conn = None
            try:
                listed = self.api.get_json(self.path)
                with self.lock:
                    self.apps = {a["metadata"]["name"]: a for a in listed["items"]}
                self.listed.set()
                rv = listed["metadata"]["resourceVersion"]
                conn = http.client.HTTPSConnection(self.api.host, self.api.port,
                                                   context=self.api.context, timeout=3600)
                conn.request("GET", f"{self.path}?watch=1&resourceVersion={rv}"
                             "&allowWatchBookmarks=true&timeoutSeconds=3000",
                             headers=self.api.headers)
                resp = conn.getresponse()
                if resp.status != 200:
                    raise BenchError(f"watch of Applications: HTTP {resp.status}")
                while not self.stopping:
                    line = resp.readline()
                    if not line:
                        break  # the server ended the watch: list again
                    event = json.loads(line)
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        break  # e.g. 410 Gone: list again
                    if kind == "BOOKMARK":
                        continue
                    name = obj.get("metadata", {}).get("name")
                    with self.lock:
                        if kind == "DELETED":
                            self.apps.pop(name, None)
                        else:
                            self.apps[name] = obj
            except (OSError, ValueError, http.client.HTTPException, BenchError):
                time.sleep(0.5)
            finally:
                if conn is not None:
                    conn.close()

    def items(self):
        self.listed.wait(60)
        with self.lock:
            return list(self.apps.values())

    def stop(self):
        self.stopping = True


# ---- measurements --------------------------------------------------------------------------

def delta(after, before):
    """after - before, key by key, of two {key: number}."""
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}


def ready_at_head(app, head):
    return (app.get("status", {}).get("lastAppliedRevision") == head
            and benchlib.ready(app))


def audit_class(event):
    ref = event.get("objectRef") or {}
    resource = ref.get("resource")
    if resource == "applications":
        return "applications"
    if resource == "events":
        return "events"
    if resource in MANAGED:
        return "objects" if ref.get("name") else "kinds"
    return "other"


def audit_time(event):
    return datetime.datetime.fromisoformat(event["requestReceivedTimestamp"]).timestamp()


class ScaleRun(benchlib.Bench):
    """One size: a control plane, the raw limit, then Plumbline's convergence, idle and restart."""

    def __init__(self, args, apps, tmp_parent, plumbline_bin, plumbline_flags):
        super().__init__("scale", args.root, args.bin_dir, args.keep_tmp, tmp_parent)
        self.args = args
        self.apps = apps
        self.plumbline_bin = plumbline_bin
        self.plumbline_flags = plumbline_flags
        self.audit_log = os.path.join(self.tmp, "audit.log")
        self.result = {"apps": apps, "objects": apps * OBJECTS_PER_APP}

    # ---- setup ---------------------------------------------------------------------------

    def setup_cluster(self):
        policy = os.path.join(self.tmp, "audit-policy.yaml")
        with open(policy, "w") as f:
            f.write(AUDIT_POLICY)
        # local-cluster.sh's /24 has 253 Service IPs; each app has two Services (git's, raw's).
        # The later flag wins. Audit events are written asynchronously (batch), so that logging
        # them does not slow the controller's requests down.
        audit = [] if self.args.no_audit else [
            f"--audit-policy-file={policy}", f"--audit-log-path={self.audit_log}",
            "--audit-log-mode=batch", "--audit-log-maxsize=0"]
        self.start_cluster(["--service-cluster-ip-range=10.0.0.0/16"] + audit)
        self.controller_kubeconfig = self.kubeconfig
        # This driver and kubectl use the static token, so that the audit log holds only the
        # controller's requests.
        with open(os.path.join(self.cluster_dir, "pki/admin.token")) as f:
            token = f.read().strip()
        text, n = re.subn(r"(?ms)^users:\n.*?(?=^contexts:)",
                          f"users:\n- name: admin\n  user:\n    token: {token}\n",
                          self.kubeconfig_text)
        if n != 1:
            raise BenchError("unexpected users section in the cluster's kubeconfig")
        self.kubeconfig = os.path.join(self.tmp, "kubeconfig-token")
        with open(self.kubeconfig, "w") as f:
            f.write(text)
        self.api = KubeAPI(self.kubeconfig, self.tmp)
        self.check_service_range()
        self.install_crd(NAMESPACE)

    def check_service_range(self):
        """Fails early when the Service IP range cannot hold two Services per app."""
        status, data = self.api.request(
            "GET", "/apis/networking.k8s.io/v1/servicecidrs/kubernetes")
        if status != 200:
            return  # an API server without ServiceCIDRs: the first Service past it will fail
        cidrs = json.loads(data).get("spec", {}).get("cidrs", [])
        size = sum(ipaddress.ip_network(c).num_addresses for c in cidrs)
        if size < 2 * self.apps + 16:
            raise BenchError(f"the Service IP range {cidrs} cannot hold {2 * self.apps} Services")

    def setup_git(self):
        repos = self.init_repo()
        for i in range(self.apps):
            d = os.path.join(self.work, "apps", f"app-{i}")
            os.makedirs(d)
            for obj in app_objects(i, f"app-{i}"):
                obj["metadata"].pop("namespace", None)  # the Application's destination
                name = f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
                with open(os.path.join(d, name), "w") as f:
                    f.write(to_yaml(obj))
        self.head = self.commit_and_push(f"scale: {self.apps} apps")
        self.repo_url = self.serve_git(repos)

    def create_apps(self):
        docs = [to_yaml({
            "apiVersion": "plumbline.dev/v1alpha1", "kind": "Application",
            "metadata": {"name": f"app-{i}", "namespace": NAMESPACE},
            "spec": {"source": {"repoURL": self.repo_url, "path": f"apps/app-{i}"},
                     "destination": {"namespace": f"app-{i}"},
                     "interval": "1m", "prune": True},
        }) for i in range(self.apps)]
        path = os.path.join(self.tmp, "applications.yaml")
        with open(path, "w") as f:
            f.write("---\n".join(docs))
        self.run([self.kubectl_bin, "--kubeconfig", self.kubeconfig, "apply", "--server-side",
                  "-f", path], timeout=1800)

    # ---- the raw limit -------------------------------------------------------------------

    def raw_limit(self):
        namespaces, others = [], []
        for i in range(self.apps):
            objs = app_objects(i, f"raw-{i}")
            namespaces.append(objs[0])
            others.extend(objs[1:])
        lock = threading.Lock()
        counts = {"requests": 0, "retries": 0}

        def apply(obj):
            path = f"{object_path(obj)}?fieldManager={RAW_MANAGER}&force=true"
            body = json.dumps(obj).encode()
            for attempt in range(10):
                status, data = self.api.request("PATCH", path, body,
                                                "application/apply-patch+yaml")
                with lock:
                    counts["requests"] += 1
                if status in (200, 201):
                    return
                if status in (429, 500, 502, 503, 504) and attempt < 9:
                    with lock:
                        counts["retries"] += 1
                    time.sleep(0.1 * (attempt + 1))
                    continue
                raise BenchError(f"raw apply {path}: HTTP {status}: {data[:300]!r}")

        conc = self.args.raw_concurrency
        log(f"raw limit: applying {len(namespaces) + len(others)} objects with "
            f"{conc} connections")
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=conc)
        try:
            cpu0, server0 = time.process_time(), self.control_plane_cpu()
            t0 = time.monotonic()
            list(pool.map(apply, namespaces))
            t_ns = time.monotonic()
            list(pool.map(apply, others))
            elapsed = time.monotonic() - t0
            cpu, server = time.process_time() - cpu0, self.control_plane_cpu()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        r = self.result
        r["raw_s"] = elapsed
        r["raw_ns_s"] = t_ns - t0
        r["raw_requests"] = counts["requests"]
        r["raw_retries"] = counts["retries"]
        r["raw_rps"] = counts["requests"] / elapsed
        r["raw_client_cpu"] = cpu
        r["raw_server_cpu"] = None if server is None or server0 is None else server - server0
        log(f"raw limit: {elapsed:.2f} s ({r['raw_rps']:.0f} requests/s, "
            f"{counts['retries']} retried)")

    # ---- Plumbline -----------------------------------------------------------------------

    def applications_now(self):
        if getattr(self, "app_watch", None) is None:
            self.app_watch = ApplicationWatch(
                self.api, f"/apis/plumbline.dev/v1alpha1/namespaces/{NAMESPACE}/applications")
        return self.app_watch.items()

    def snapshot(self):
        """The controller's counters, CPU and memory now (None when /metrics cannot be read)."""
        s = {"wall": time.time(), "mono": time.monotonic(), "requests": {}, "non2xx": 0,
             "reconciles": {}, "failures": 0}
        samples = benchlib.scrape_metrics(self.metrics_port)
        if samples is None:
            return None
        for name, labels, value in samples:
            if name == "plumbline_kube_requests_total":
                verb = labels.get("verb", "?")
                s["requests"][verb] = s["requests"].get(verb, 0) + value
                if not labels.get("code", "").startswith("2"):
                    s["non2xx"] += value
            elif name == "plumbline_reconcile_total":
                app = labels.get("name", "?")
                s["reconciles"][app] = s["reconciles"].get(app, 0) + value
                if labels.get("result") == "failure":
                    s["failures"] += value
        pid = self.controller.pid
        s["cpu"] = cpu_seconds(pid)
        s["status"] = proc_status(pid) or {}
        s["server_cpu"] = self.control_plane_cpu()
        return s

    def must_snapshot(self):
        s = self.snapshot()
        if s is None:
            raise BenchError("the controller's /metrics cannot be read")
        return s

    def start_plumbline(self):
        self.started_wall = time.time()
        flags = self.start_controller(self.controller_kubeconfig, NAMESPACE,
                                      self.plumbline_flags)
        self.flags = [f.replace(self.tmp, "<tmp>") for f in flags]
        self.server_cpu_at_start = self.control_plane_cpu()

    def sleep(self, secs):
        """Sleeps, checking every second that the controller still runs."""
        end = time.monotonic() + secs
        while True:
            self.check_controller()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(1.0, left))

    def wait_all_ready(self, what, t0, need_reconciled=False):
        """Polls until every Application is Ready at HEAD (and, with need_reconciled, every one
        was reconciled by this process, from its /metrics); returns when that was seen
        (monotonic). Scraping /metrics costs the controller CPU, so it is read only when needed.
        """
        deadline = t0 + self.args.ready_timeout
        next_progress = time.monotonic() + PROGRESS_EVERY
        names = [f"app-{i}" for i in range(self.apps)]
        while True:
            self.check_controller()
            reconciled, ok = None, 0
            if need_reconciled:
                snap = self.snapshot()
                reconciled = (sum(1 for n in names if snap["reconciles"].get(n, 0) >= 1)
                              if snap else 0)
            if reconciled is None or reconciled == self.apps:
                ok = sum(1 for a in self.applications_now() if ready_at_head(a, self.head))
                if ok == self.apps:
                    return time.monotonic()
            now = time.monotonic()
            if now > deadline:
                raise BenchError(f"{what}: {ok}/{self.apps} Ready at HEAD"
                                 + ("" if reconciled is None else f", {reconciled} reconciled")
                                 + f" after {self.args.ready_timeout:.0f} s")
            if now >= next_progress:
                next_progress = now + PROGRESS_EVERY
                log(f"{what}: {now - t0:.0f} s"
                    + ("" if reconciled is None else f", {reconciled}/{self.apps} reconciled")
                    + f", {ok}/{self.apps} Ready at HEAD")
            time.sleep(POLL_EVERY)

    def converge(self):
        log(f"starting plumbline run over {self.apps} Applications")
        self.start_plumbline()
        t0 = self.controller_started
        done = self.wait_all_ready("convergence", t0)
        snap = self.must_snapshot()
        r = self.result
        r["ready_s"] = done - t0
        r["ratio"] = r["ready_s"] / r["raw_s"]
        r["conv_requests"] = snap["requests"]
        r["conv_non2xx"] = snap["non2xx"]
        r["conv_failures"] = snap["failures"]
        r["conv_cpu"] = snap["cpu"]
        r["conv_server_cpu"] = (None if snap["server_cpu"] is None
                                or self.server_cpu_at_start is None
                                else snap["server_cpu"] - self.server_cpu_at_start)
        r["conv_rss"] = snap["status"].get("VmRSS")
        r["conv_window"] = (self.started_wall, snap["wall"])
        inventory = sum(len(a.get("status", {}).get("inventory", []))
                        for a in self.applications_now())
        r["inventory"] = inventory
        r["flags"] = self.flags
        log(f"all Ready at HEAD after {r['ready_s']:.1f} s ({r['ratio']:.2f}x the raw limit); "
            f"{inventory} objects in the inventories")

    def idle(self):
        log(f"idle for {self.args.idle_seconds} s")
        self.sleep(SETTLE)
        s0 = self.must_snapshot()
        self.sleep(self.args.idle_seconds)
        s1 = self.must_snapshot()
        r = self.result
        r["idle_s"] = s1["mono"] - s0["mono"]
        r["idle_requests"] = delta(s1["requests"], s0["requests"])
        r["idle_non2xx"] = s1["non2xx"] - s0["non2xx"]
        r["idle_reconciles"] = sum(delta(s1["reconciles"], s0["reconciles"]).values())
        r["idle_cpu"] = s1["cpu"] - s0["cpu"]
        r["rss"] = s1["status"].get("VmRSS")
        r["peak_rss"] = s1["status"].get("VmHWM")
        r["idle_window"] = (s0["wall"], s1["wall"])

    def restart(self):
        log("restarting the controller")
        entry = next(c for c in self.children if c[1] is self.controller)
        t = time.monotonic()
        killed = self.stop("plumbline", self.controller, RESTART_STOP_TIMEOUT)
        self.children.remove(entry)
        r = self.result
        r["stop_s"] = time.monotonic() - t
        r["stop_code"] = "SIGKILL" if killed else self.controller.returncode
        self.start_plumbline()
        t0 = self.controller_started
        done = self.wait_all_ready("restart", t0, need_reconciled=True)
        r["restart_s"] = done - t0
        log(f"every Application reconciled and Ready {r['restart_s']:.1f} s after the restart")
        # What the start-up still does after the last first reconcile (watches opening) is
        # part of the restart's cost; the next interval is a minute away.
        self.sleep(SETTLE)
        snap = self.must_snapshot()
        r["restart_requests"] = snap["requests"]
        r["restart_non2xx"] = snap["non2xx"]
        r["restart_reconciles"] = sum(snap["reconciles"].values())
        r["restart_window"] = (self.started_wall, snap["wall"])
        r["restart_rss"] = snap["status"].get("VmRSS")

    # ---- the audit log and the controller log --------------------------------------------

    def read_audit(self):
        """The controller's requests as the API server logged them, one event per request."""
        events = {}
        try:
            with open(self.audit_log) as f:
                for line in f:
                    try:
                        e = json.loads(line)
                    except ValueError:
                        continue  # being written
                    if (e.get("user", {}).get("username") == CONTROLLER_USER
                            and e.get("userAgent", "").startswith("plumbline/")):
                        events.setdefault(e["auditID"], e)  # a watch logs two stages
        except OSError:
            return None
        return list(events.values())

    def audit_windows(self):
        time.sleep(2)  # batch mode: let the last events reach the file
        events = self.read_audit()
        if events is None:
            return
        times = [(audit_time(e), e) for e in events]
        for window in ("conv", "idle", "restart"):
            if f"{window}_window" not in self.result:
                continue
            t0, t1 = self.result[f"{window}_window"]
            counts = {c: {"all": 0, "writes": 0} for c in AUDIT_CLASSES}
            total = 0
            for t, e in times:
                if t0 <= t < t1:
                    c = counts[audit_class(e)]
                    c["all"] += 1
                    c["writes"] += e.get("verb") in AUDIT_WRITES
                    total += 1
            counts["total"] = total
            self.result[f"{window}_audit"] = counts

    def log_summary(self):
        """Counts of warn and error lines in the controller log, by message."""
        out = {}
        try:
            with open(self.controller_log, errors="replace") as f:
                for line in f:
                    parts = line.split(" ", 2)
                    if len(parts) == 3 and parts[1] in ("warn", "error"):
                        msg = re.sub(r"\s+\w+=.*$", "", parts[2].strip())[:100]
                        key = f"{parts[1]}: {msg}"
                        out[key] = out.get(key, 0) + 1
        except OSError:
            pass
        self.result["log"] = out

    # ---- main ----------------------------------------------------------------------------

    def main(self):
        log(f"size {self.apps}: {self.apps * OBJECTS_PER_APP} objects")
        try:
            self.setup_cluster()
            self.raw_limit()
            self.setup_git()
            self.create_apps()
            self.converge()
            self.idle()
            self.restart()
        except BenchError:
            self.finish()  # what was measured is still reported
            raise
        self.finish()
        return 0

    def finish(self):
        if getattr(self, "app_watch", None) is not None:
            self.app_watch.stop()
        self.log_summary()
        if self.cluster_up:
            try:
                if not self.args.no_audit:
                    self.audit_windows()
            except (OSError, ValueError, KeyError) as e:
                log(f"cannot read the audit log: {e}")


# ---- the report ----------------------------------------------------------------------------

def fmt(v, digits=1):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:,.{digits}f}"


def report_rows(results):
    rows = []

    def row(label, fn, digits=1):
        cells = []
        for r in results:
            try:
                v = fn(r)
            except (KeyError, TypeError, ZeroDivisionError):
                v = None
            cells.append(fmt(v, digits))
        rows.append((label, cells))

    def verbs_in(key):
        seen = set()
        for r in results:
            seen |= {v for v, n in r.get(key, {}).items() if n}
        return [v for v in VERB_ORDER if v in seen] + sorted(seen - set(VERB_ORDER))

    def writes(counts):
        return sum(n for v, n in counts.items() if v not in READ_VERBS)

    def audit(window, cls, per_app=False):
        def cell(r):
            c = r[f"{window}_audit"][cls]
            if per_app:
                return f"{c['all'] / r['apps']:.1f} ({c['writes'] / r['apps']:.1f} w)"
            return f"{c['all']} ({c['writes']} w)"
        return cell

    def audit_total(window, key):
        return lambda r: f"{r[window + '_audit']['total']} / {fmt(sum(r[key].values()), 0)}"

    row("apps", lambda r: r["apps"], 0)
    row("objects (apps x 10)", lambda r: r["objects"], 0)
    row("raw SSA limit (s)", lambda r: r["raw_s"], 2)
    row("  requests/s", lambda r: r["raw_rps"], 0)
    row("  of which the Namespaces first (s)", lambda r: r["raw_ns_s"], 2)
    row("  retried (429/5xx)", lambda r: r["raw_retries"], 0)
    row("  client CPU s / apiserver+etcd CPU s",
        lambda r: f"{fmt(r['raw_client_cpu'])} / {fmt(r['raw_server_cpu'])}")
    row("Plumbline time to all Ready (s)", lambda r: r["ready_s"], 1)
    row("ratio to raw limit (target <= 1.3x at 1,000)", lambda r: r["ratio"], 2)
    row("objects in inventories", lambda r: r["inventory"], 0)
    row("requests per app (convergence)", lambda r: sum(r["conv_requests"].values()) / r["apps"],
        1)
    for v in verbs_in("conv_requests"):
        row(f"  {v}", lambda r, v=v: r["conv_requests"].get(v, 0) / r["apps"], 2)
    row("  non-2xx responses per app", lambda r: r["conv_non2xx"] / r["apps"], 2)
    row("  audit: per-object requests per app", audit("conv", "objects", True))
    row("  audit: list/watch of kinds per app", audit("conv", "kinds", True))
    row("  audit: Application requests per app", audit("conv", "applications", True))
    row("  audit: Event requests per app", audit("conv", "events", True))
    row("  audit: other per app", audit("conv", "other", True))
    row("  audit total / metrics total", audit_total("conv", "conv_requests"))
    row("failed reconciles (convergence)", lambda r: r["conv_failures"], 0)
    row("apiserver+etcd CPU s (convergence)", lambda r: r["conv_server_cpu"], 1)
    row("controller CPU s (to all Ready)", lambda r: r["conv_cpu"], 1)
    row("controller CPU s (idle window)", lambda r: r["idle_cpu"], 1)
    row("RSS MiB (at all Ready)", lambda r: r["conv_rss"] / 1024, 1)
    row("RSS MiB (after idle; target <= 100 at 10,000)", lambda r: r["rss"] / 1024, 1)
    row("peak RSS MiB (VmHWM)", lambda r: r["peak_rss"] / 1024, 1)
    row("idle window (s)", lambda r: r["idle_s"], 0)
    row("idle reconciles", lambda r: r["idle_reconciles"], 0)
    row("idle requests/min, non-watch",
        lambda r: sum(n for v, n in r["idle_requests"].items() if v != "watch")
        * 60 / r["idle_s"], 1)
    row("idle requests/min, watch", lambda r: r["idle_requests"].get("watch", 0) * 60 / r["idle_s"],
        1)
    for v in verbs_in("idle_requests"):
        row(f"  {v} (total)", lambda r, v=v: r["idle_requests"].get(v, 0), 0)
    row("requests per idle reconcile (non-watch; target 0)",
        lambda r: sum(n for v, n in r["idle_requests"].items() if v != "watch")
        / r["idle_reconciles"], 2)
    row("idle writes", lambda r: writes(r["idle_requests"]), 0)
    row("  non-2xx responses", lambda r: r["idle_non2xx"], 0)
    row("  audit: per-object requests", audit("idle", "objects"))
    row("  audit: list/watch of kinds", audit("idle", "kinds"))
    row("  audit: Application requests", audit("idle", "applications"))
    row("  audit: Event requests", audit("idle", "events"))
    row("  audit: other", audit("idle", "other"))
    row("  audit total / metrics total", audit_total("idle", "idle_requests"))
    row("restart: SIGTERM to exit (s; exit code)",
        lambda r: f"{fmt(r['stop_s'])}; {r['stop_code']}")
    row("restart: until all reconciled + Ready (s)", lambda r: r["restart_s"], 1)
    row(f"restart: reconciles (to {SETTLE:.0f} s after)", lambda r: r["restart_reconciles"], 0)
    row(f"restart requests (to {SETTLE:.0f} s after)",
        lambda r: sum(r["restart_requests"].values()), 0)
    for v in verbs_in("restart_requests"):
        row(f"  {v}", lambda r, v=v: r["restart_requests"].get(v, 0), 0)
    row("restart writes (target 0)", lambda r: writes(r["restart_requests"]), 0)
    row("  non-2xx responses", lambda r: r["restart_non2xx"], 0)
    row("  audit: per-object requests (target 0)", audit("restart", "objects"))
    row("  audit: list/watch of kinds", audit("restart", "kinds"))
    row("  audit: Application requests", audit("restart", "applications"))
    row("  audit: Event requests", audit("restart", "events"))
    row("  audit: other", audit("restart", "other"))
    row("  audit total / metrics total", audit_total("restart", "restart_requests"))
    row("RSS MiB (after restart)", lambda r: r["restart_rss"] / 1024, 1)
    return rows


def print_report(results, args, plumbline_flags, version):
    print()
    print(f"machine: {benchlib.machine()}")
    print(f"plumbline: {version}")
    flags = next((r["flags"] for r in results if "flags" in r), None)
    print("plumbline run flags: " + (" ".join(flags) if flags else "n/a"))
    print(f"  performance flags: {effective_flags(args, plumbline_flags)}")
    print(f"raw client: {args.raw_concurrency} connections; idle window {args.idle_seconds} s "
          f"from {SETTLE:.0f} s after all Ready; Applications: interval 1m, prune")
    print("(w) = writes (create, update, patch, delete) among the audited requests; audit "
          "counts are the API server's, the others the controller's own metrics")
    if not results:
        return
    rows = report_rows(results)
    width = max(len(label) for label, _ in rows)
    cols = [max(12, *(len(cells[i]) for _, cells in rows)) for i in range(len(results))]
    print()
    print(f"{'':<{width}}  " + "  ".join(f"{'N=' + str(r['apps']):>{w}}"
                                           for r, w in zip(results, cols)))
    print(f"{'':-<{width}}  " + "  ".join("-" * w for w in cols))
    for label, cells in rows:
        print(f"{label:<{width}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, cols)))
    print(f"{'':-<{width}}  " + "  ".join("-" * w for w in cols))
    for r in results:
        if r.get("log"):
            print(f"\ncontroller log, N={r['apps']}: warn/error lines by message")
            for msg, n in sorted(r["log"].items(), key=lambda kv: -kv[1])[:10]:
                print(f"  {n:6d}  {msg}")
    sys.stdout.flush()


def effective_flags(args, extra):
    """--kube-qps, --kube-burst, --workers, --apply-concurrency (when this build has them): as
    given after --, else plumbline's defaults."""
    defaults = {}
    p = subprocess_run([args.plumbline_bin, "run", "--help"])
    for m in re.finditer(r"^\s+--(\S+) VALUE .*\(default \"([^\"]*)\"\)$", p, re.M):
        defaults[m.group(1)] = m.group(2)
    given = {}
    i = 0
    while i < len(extra):
        a = extra[i]
        if a.startswith("--") and "=" in a:
            k, v = a[2:].split("=", 1)
            given[k] = v
        elif a.startswith("--") and i + 1 < len(extra):
            given[a[2:]] = extra[i + 1]
            i += 1
        i += 1
    out = []
    for k in ("kube-qps", "kube-burst", "workers", "apply-concurrency"):
        if k in given:
            out.append(f"--{k} {given[k]}")
        elif k in defaults:
            out.append(f"--{k} {defaults[k]} (default)")
    return ", ".join(out) or "n/a"


def subprocess_run(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def main():
    argv = sys.argv[1:]
    plumbline_flags = []
    if "--" in argv:
        i = argv.index("--")
        argv, plumbline_flags = argv[:i], argv[i + 1:]
    parser = argparse.ArgumentParser(
        prog="hack/bench/scale.sh",
        usage="hack/bench/scale.sh [--sizes 100,300,1000] [--idle-seconds 180] "
              "[--raw-concurrency 32] [--keep-tmp] [-- extra plumbline run flags]",
        description="Plumbline against the physical limit: for N apps x 10 objects, the raw "
                    "server-side apply limit of the API server, then plumbline run's time to "
                    "all Ready, requests, CPU, memory, idle cost and restart cost.")
    parser.add_argument("--sizes", default="100,300,1000",
                        help="Application counts, comma-separated (100,300,1000)")
    parser.add_argument("--idle-seconds", type=int, default=180,
                        help="length of the idle window (180)")
    parser.add_argument("--raw-concurrency", type=int, default=32,
                        help="connections of the raw server-side apply client (32)")
    parser.add_argument("--ready-timeout", type=float, default=1800,
                        help="seconds to wait for all Ready, at start and after the restart "
                             "(1800)")
    parser.add_argument("--no-audit", action="store_true",
                        help="run the API server without its audit log (no audit rows): the "
                             "log costs the API server CPU for the controller's requests only")
    parser.add_argument("--keep-tmp", action="store_true",
                        help="keep the temporary directories (logs, audit log, repository)")
    parser.add_argument("--root", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--bin-dir", required=True, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes comma-separated integers")
    if not sizes or min(sizes) <= 0 or args.idle_seconds <= 0 or args.raw_concurrency <= 0:
        parser.error("--sizes, --idle-seconds and --raw-concurrency must be positive")

    benchlib.set_log_prefix("scale")
    benchlib.install_signal_handlers()
    top = tempfile.mkdtemp(prefix="plumbline-scale-")
    results, code, version = [], 0, "n/a"
    args.plumbline_bin = os.path.join(args.root, "build/plumbline")
    try:
        # Every size and the restart run the same binary, even if build/plumbline is rebuilt
        # meanwhile.
        args.plumbline_bin = os.path.join(top, "plumbline")
        shutil.copy2(os.path.join(args.root, "build/plumbline"), args.plumbline_bin)
        built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(
            os.path.getmtime(os.path.join(args.root, "build/plumbline"))))
        version = subprocess_run([args.plumbline_bin, "version"]).strip()
        version = f"{version.removeprefix('Client Version: ')} (build/plumbline of {built})"
        for n in sizes:
            run = ScaleRun(args, n, top, args.plumbline_bin, plumbline_flags)
            results.append(run.result)  # filled in as it goes: a stopped run reports its part
            code = benchlib.guarded(run, run.main)
            if code != 0:
                break
    except KeyboardInterrupt:
        log("interrupted")
        code = 130
    finally:
        print_report(results, args, plumbline_flags, version)
        if args.keep_tmp:
            log(f"kept {top}")
        else:
            shutil.rmtree(top, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
