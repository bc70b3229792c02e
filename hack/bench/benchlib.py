"""What the benchmark drivers beside this file (soak.py, scale.py) share.

A Bench owns a private temporary directory and every process it starts there: a local control
plane (hack/local-cluster.sh), a git repository served by `git daemon`, and `plumbline run`.
cleanup() stops them all and removes the directory; guarded() runs a benchmark so that this
happens on errors and Ctrl-C too. Also here: reading /proc, and scraping the controller's
/metrics.

Standard library only.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")
_prefix = "bench"


class BenchError(Exception):
    pass


def set_log_prefix(name):
    global _prefix
    _prefix = name


def log(msg):
    print(f"{_prefix}: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"{what} did not listen on port {port} within {timeout:.0f} s")


# ---- /proc ---------------------------------------------------------------------------------

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


def machine():
    """One line: CPUs, CPU model, memory."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1])
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), {mib(mem)} memory"


def mib(kib):
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def seconds(s):
    return "n/a" if s is None else f"{s:.1f} s"


# ---- /metrics ------------------------------------------------------------------------------

def parse_metrics(text):
    """[(name, {label: value}, value)] of a Prometheus text exposition."""
    samples = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^(\w+)(\{[^}]*\})?\s+(\S+)$', line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples


def scrape_metrics(port, timeout=10):
    """The samples served on 127.0.0.1:port/metrics (None when they cannot be read)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
            return parse_metrics(r.read().decode())
    except OSError:
        return None


def ready(app):
    """Whether an Application's Ready condition is True."""
    for c in app.get("status", {}).get("conditions", []):
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


# ---- the bench -----------------------------------------------------------------------------

class Bench:
    """A private directory and the processes of one benchmark run in it."""

    def __init__(self, name, root, bin_dir, keep_tmp, tmp_parent=None):
        self.name = name
        self.root = root
        self.keep_tmp = keep_tmp
        self.kubectl_bin = os.path.join(bin_dir, "kubectl")
        self.plumbline_bin = os.path.join(root, "build/plumbline")
        self.tmp = tempfile.mkdtemp(prefix=f"plumbline-{name}-", dir=tmp_parent)
        self.cluster_dir = os.path.join(self.tmp, "cluster")
        self.cluster_up = False
        self.children = []  # (name, Popen), stopped in reverse order
        self.controller = None
        self.work = os.path.join(self.tmp, "work")
        self.controller_log = os.path.join(self.tmp, "controller.log")

    # ---- processes -----------------------------------------------------------------------

    def run(self, cmd, check=True, timeout=300, **kw):
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise BenchError(f"{' '.join(cmd[:4])}... failed ({p.returncode}): "
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

    def stop(self, name, p, timeout):
        """SIGTERM to p's process group, SIGKILL after timeout s; returns whether it was killed."""
        if p.poll() is not None:
            return False
        try:
            # Each child leads its own session: its group holds what it forked (git daemon's
            # per-connection children).
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log(f"{name} did not stop on SIGTERM; killing it")
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
            return True
        return False

    def stop_children(self):
        for name, p in reversed(self.children):
            self.stop(name, p, 30 if p is self.controller else 5)
        self.children.clear()

    def kubectl(self, *args, check=True, stdin=None):
        return self.run([self.kubectl_bin, "--kubeconfig", self.kubeconfig, *args],
                        check=check, timeout=120, input=stdin)

    def git(self, *args):
        return self.run(["git", "-c", f"user.name={self.name}",
                         "-c", f"user.email={self.name}@example.invalid",
                         "-C", self.work, *args]).stdout.strip()

    # ---- setup ---------------------------------------------------------------------------

    def start_cluster(self, apiserver_args=()):
        log(f"starting a control plane in {self.cluster_dir}")
        cmd = [os.path.join(self.root, "hack/local-cluster.sh"), "up", "--dir",
               self.cluster_dir, "--owner-pid", str(os.getpid())]
        for a in apiserver_args:
            cmd += ["--apiserver-arg", a]
        p = self.run(cmd, check=False, timeout=900)
        self.cluster_up = True
        if p.returncode != 0:
            raise BenchError(f"hack/local-cluster.sh up failed:\n{p.stderr[-3000:]}")
        last = p.stdout.strip().splitlines()[-1]
        if not last.startswith("export KUBECONFIG="):
            raise BenchError(f"unexpected last line from local-cluster.sh up: {last!r}")
        self.kubeconfig = last[len("export KUBECONFIG="):]
        with open(self.kubeconfig) as f:
            text = f.read()
        m = re.search(r"server: https://127\.0\.0\.1:(\d+)", text)
        if not m:
            raise BenchError("no loopback server in the cluster's kubeconfig")
        self.api_port = int(m.group(1))
        self.kubeconfig_text = text

    def control_plane_cpu(self):
        """CPU seconds of kube-apiserver and etcd together (None when one cannot be read)."""
        total = 0.0
        for name in ("kube-apiserver", "etcd"):
            try:
                with open(os.path.join(self.cluster_dir, f"{name}.pid")) as f:
                    cpu = cpu_seconds(int(f.read().strip()))
            except (OSError, ValueError):
                return None
            if cpu is None:
                return None
            total += cpu
        return total

    def install_crd(self, namespace):
        """The Application CRD, and the namespace the Applications live in."""
        crd = os.path.join(self.root, "crds/application.yaml")
        self.kubectl("apply", "-f", crd)
        self.kubectl("wait", "--for=condition=Established",
                     "crd/applications.plumbline.dev", "--timeout=60s")
        self.kubectl("create", "namespace", namespace)

    def init_repo(self):
        """A bare repository (to serve) and a working tree pushing to it; returns their parent."""
        repos = os.path.join(self.tmp, "repos")
        bare = os.path.join(repos, "deploy.git")
        os.makedirs(repos)
        self.run(["git", "init", "-q", "--bare", "-b", "main", bare])
        self.run(["git", "init", "-q", "-b", "main", self.work])
        self.git("remote", "add", "origin", bare)
        return repos

    def commit_and_push(self, message):
        """Commits the whole working tree and pushes it; returns the new HEAD."""
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", "main")
        return self.git("rev-parse", "HEAD")

    def serve_git(self, repos):
        """Serves repos with git daemon; returns the URL of deploy.git."""
        port = free_port()
        daemon = self.start("git daemon", [
            "git", "daemon", "--reuseaddr", f"--base-path={repos}", "--export-all",
            f"--port={port}", "--listen=127.0.0.1", repos],
            os.path.join(self.tmp, "git-daemon.log"))
        wait_port(port, daemon, "git daemon")
        return f"git://127.0.0.1:{port}/deploy.git"

    def start_controller(self, kubeconfig, namespace, extra_flags=()):
        """Starts `plumbline run` reconciling the Applications of namespace; returns its flags."""
        self.metrics_port = free_port()
        health_port = free_port()
        flags = ["--kubeconfig", kubeconfig,
                 "--watch-namespace", namespace, "--controller-namespace", namespace,
                 "--metrics-addr", f"127.0.0.1:{self.metrics_port}",
                 "--health-addr", f"127.0.0.1:{health_port}",
                 "--cache-dir", os.path.join(self.tmp, "cache"), *extra_flags]
        self.controller = self.start("plumbline", [self.plumbline_bin, "run", *flags],
                                     self.controller_log)
        self.controller_started = time.monotonic()
        return flags

    # ---- observation ---------------------------------------------------------------------

    def check_controller(self):
        if self.controller.poll() is not None:
            raise BenchError(f"the controller exited with {self.controller.returncode}")

    def applications(self, namespace):
        out = self.kubectl("get", "applications", "-n", namespace, "-o", "json").stdout
        return {a["metadata"]["name"]: a for a in json.loads(out)["items"]}

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
            self.cluster_up = False
        if self.keep_tmp:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def install_signal_handlers():
    """SIGTERM and SIGHUP end the driver the way Ctrl-C does: through the cleanups."""
    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)


def guarded(bench, body):
    """Runs body() (returning an exit code), then bench.cleanup() whatever happened."""
    code = 1
    try:
        code = body()
    except BenchError as e:
        log(f"error: {e}")
        if bench.controller is not None:
            bench.print_log_tail()
    except KeyboardInterrupt:
        log("interrupted")
        code = 130
    finally:
        # No second Ctrl-C or SIGTERM may cut the cleanup short.
        saved = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        bench.cleanup()
        for s, handler in saved.items():
            signal.signal(s, handler)
    return code
