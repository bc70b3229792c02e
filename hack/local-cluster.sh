#!/usr/bin/env bash
# A real Kubernetes control plane on loopback for tests and the local demo (envtest-style:
# etcd + kube-apiserver, optionally kube-controller-manager; no kubelet, no scheduler).
#
#   hack/local-cluster.sh up     [--dir DIR] [--with-controller-manager] [--owner-pid PID]
#                                [--apiserver-arg ARG]...
#   hack/local-cluster.sh down   [--dir DIR]
#   hack/local-cluster.sh status [--dir DIR]
#   hack/local-cluster.sh restart-apiserver [--dir DIR]
#
# restart-apiserver kills kube-apiserver (SIGKILL, as a crashed or evicted one) and starts it
# again on the same port with the same flags, for fault tests; etcd keeps running.
#
# DIR (default: .cluster in the repo) holds certificates, data, logs and the kubeconfig; each
# DIR is an independent control plane on its own free ports, so several can run at once.
# With --owner-pid, the control plane stops itself when that process exits (a test binary that
# crashed cannot leak it). `up` prints `export KUBECONFIG=...` as its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
shift || true
dir=$here/../.cluster
with_kcm=false
owner_pid=
apiserver_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --with-controller-manager) with_kcm=true; shift ;;
    --owner-pid) owner_pid=$2; shift 2 ;;
    --apiserver-arg) apiserver_args+=("$2"); shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
if [ "$cmd" = up ]; then mkdir -p "$dir"; fi
if [ ! -d "$dir" ]; then
  [ "$cmd" = status ] && { echo "not running (no $dir)"; exit 1; }
  exit 0  # down: nothing to stop
fi
dir=$(cd "$dir" && pwd)

log() { echo "local-cluster: $*" >&2; }

alive() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop_one() {
  local name=$1 pid
  [ -f "$dir/$name.pid" ] || return 0
  pid=$(cat "$dir/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/$name.pid"
}

down() {
  # The watchdog runs `down` itself (by exec, so with its own pid): it must not stop itself.
  if [ "$(cat "$dir/watchdog.pid" 2>/dev/null)" != "$$" ]; then stop_one watchdog; fi
  stop_one kube-controller-manager
  stop_one kube-apiserver
  stop_one etcd
  # A process that was just killed may still be closing files: retry before giving up.
  for _ in 1 2 3 4 5; do rm -rf "$dir" 2>/dev/null && return 0; sleep 0.5; done
  rm -rf "$dir"
}

gen_certs() {
  local pki=$dir/pki
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=plumbline-local-ca" 2>/dev/null
    cat > server.ext <<EXT
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.0.0.1
extendedKeyUsage=serverAuth
EXT
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
      -subj "/CN=kube-apiserver" 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
      -days 3650 -extfile server.ext 2>/dev/null
    echo "extendedKeyUsage=clientAuth" > client.ext
    openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr \
      -subj "/O=system:masters/CN=plumbline-admin" 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt \
      -days 3650 -extfile client.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    # A static admin token, for tests of token authentication.
    token=$(openssl rand -hex 16)
    echo "$token" > admin.token
    echo "$token,plumbline-token-admin,plumbline-token-admin,system:masters" > tokens.csv
  )
}

write_kubeconfig() {
  local port=$1 pki=$dir/pki
  cat > "$dir/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(base64 -w0 "$pki/admin.crt")
    client-key-data: $(base64 -w0 "$pki/admin.key")
contexts:
- name: local
  context: {cluster: local, user: admin, namespace: default}
current-context: local
KC
}

wait_ready() {
  local port=$1 pki=$dir/pki
  for _ in $(seq 1 600); do
    if curl -fsS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
        "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
      return 0
    fi
    alive kube-apiserver || { log "kube-apiserver exited; see $dir/kube-apiserver.log"; tail -20 "$dir/kube-apiserver.log" >&2; return 1; }
    sleep 0.2
  done
  log "kube-apiserver not ready after 120 s; see $dir/kube-apiserver.log"
  return 1
}

start_daemon() {
  local name=$1; shift
  setsid "$@" > "$dir/$name.log" 2>&1 < /dev/null &
  echo $! > "$dir/$name.pid"
}

up() {
  if alive kube-apiserver; then
    log "already running in $dir"
    echo "export KUBECONFIG=$dir/kubeconfig"
    return 0
  fi
  local kcm_flag=()
  $with_kcm && kcm_flag=(--with-controller-manager)
  local bin
  bin=$("$here/build-control-plane.sh" "${kcm_flag[@]}" | tail -n 1)
  rm -rf "$dir"/{etcd-data,pki}
  gen_certs
  local etcd_port etcd_peer api_port
  etcd_port=$(free_port); etcd_peer=$(free_port)

  start_daemon etcd "$bin/etcd" --name local --data-dir "$dir/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "local=http://127.0.0.1:$etcd_peer" \
    --unsafe-no-fsync --quota-backend-bytes 4294967296

  local pki=$dir/pki attempt
  for attempt in 1 2 3; do
    api_port=$(free_port)
    echo "$api_port" > "$dir/port"
    apiserver_cmd=("$bin/kube-apiserver" \
      --etcd-servers "http://127.0.0.1:$etcd_port" \
      --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
      --tls-cert-file "$pki/server.crt" --tls-private-key-file "$pki/server.key" \
      --client-ca-file "$pki/ca.crt" --token-auth-file "$pki/tokens.csv" \
      --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
      --service-account-issuer https://kubernetes.default.svc \
      --authorization-mode RBAC --service-cluster-ip-range 10.0.0.0/24 \
      --allow-privileged=true --disable-admission-plugins ServiceAccount \
      --cert-dir "$dir/apiserver-certs" "${apiserver_args[@]}")
    # Kept for restart-apiserver: one argument per line (none holds a newline).
    printf '%s\n' "${apiserver_cmd[@]}" > "$dir/kube-apiserver.cmd"
    start_daemon kube-apiserver "${apiserver_cmd[@]}"
    if wait_ready "$api_port"; then break; fi
    # A free port can be taken between choosing it and binding it (tests beside this one open
    # connections all the time): choose another.
    if [ "$attempt" -lt 3 ] && grep -q "address already in use" "$dir/kube-apiserver.log"; then
      log "port $api_port was taken before kube-apiserver bound it; trying another"
      continue
    fi
    return 1
  done
  write_kubeconfig "$api_port"

  if $with_kcm; then
    start_daemon kube-controller-manager "$bin/kube-controller-manager" \
      --kubeconfig "$dir/kubeconfig" --leader-elect=false --bind-address 127.0.0.1 \
      --secure-port 0 --controllers '*' \
      --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
      --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
      --use-service-account-credentials=false
  fi

  if [ -n "$owner_pid" ]; then
    # Stops this control plane when the owner exits without calling `down`.
    start_daemon watchdog bash -c \
      "while kill -0 $owner_pid 2>/dev/null; do sleep 1; done; exec '$here/local-cluster.sh' down --dir '$dir'"
  fi
  log "kube-apiserver ready at https://127.0.0.1:$api_port (data in $dir)"
  echo "export KUBECONFIG=$dir/kubeconfig"
}

restart_apiserver() {
  alive kube-apiserver || { log "kube-apiserver is not running in $dir"; return 1; }
  local pid
  pid=$(cat "$dir/kube-apiserver.pid")
  kill -9 "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  mv "$dir/kube-apiserver.log" "$dir/kube-apiserver.log.1"
  local cmd=()
  mapfile -t cmd < "$dir/kube-apiserver.cmd"
  # Its port may linger in TIME_WAIT; kube-apiserver binds with SO_REUSEADDR, so it comes back.
  start_daemon kube-apiserver "${cmd[@]}"
  wait_ready "$(cat "$dir/port")"
}

status() {
  local ok=true
  for name in etcd kube-apiserver kube-controller-manager; do
    if alive "$name"; then
      echo "$name: running (pid $(cat "$dir/$name.pid"))"
    elif [ "$name" != kube-controller-manager ]; then
      echo "$name: stopped"; ok=false
    fi
  done
  if $ok; then
    echo "kubeconfig: $dir/kubeconfig"
  fi
  $ok
}

case "$cmd" in
  up) up ;;
  down) down ;;
  status) status ;;
  restart-apiserver) restart_apiserver ;;
  *) echo "usage: $0 up|down|status|restart-apiserver [--dir DIR] [--with-controller-manager] [--owner-pid PID]" >&2; exit 2 ;;
esac
