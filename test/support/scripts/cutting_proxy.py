#!/usr/bin/env python3
"""A TCP proxy for fault tests: forwards 127.0.0.1:PORT to UPSTREAM_PORT on loopback, and cuts
(resets both sides of) the first CUT_CONNECTIONS connections whose answer from the upstream
reaches CUT_AFTER_BYTES, as a server killed mid-transfer would. Smaller answers, and everything
after those cuts, pass whole. Each connection is logged as one line "cut BYTES" or "whole BYTES"
to LOG. SIGUSR1 resets every connection open at that moment (logged "reset N"), as a load
balancer that drops its connections does. SIGUSR2 starts a network partition, and the next
SIGUSR2 ends it (logged "partition 1" and "partition 0"): meanwhile every byte either way is
dropped and connections stay open, so requests hang as they do behind a dead link, and a
connection used during the partition is broken (its TLS stream lost bytes) once it heals. TLS
passes through untouched.

Only the thread that serves a connection closes its sockets, after the thread pumping the other
direction has finished: a socket closed under a thread still reading it would free its fd for
the next connection, and that thread would then steal the next connection's bytes.

usage: cutting_proxy.py PORT UPSTREAM_PORT CUT_AFTER_BYTES CUT_CONNECTIONS LOG
"""
import signal
import socket
import struct
import sys
import threading

PORT, UPSTREAM, CUT_AFTER, CUT_CONNECTIONS, LOG = sys.argv[1:6]
lock = threading.Lock()
to_cut = [int(CUT_CONNECTIONS)]
open_pairs = set()  # (client, upstream) of every connection being served
partitioned = threading.Event()


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


def abort(sock):
    """Makes the coming close() a reset (RST, not FIN), and wakes any thread blocked on it."""
    for step in (lambda: sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                          struct.pack("ii", 1, 0)),
                 lambda: sock.shutdown(socket.SHUT_RDWR)):
        try:
            step()
        except OSError:
            pass


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if partitioned.is_set():
                continue
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def take_cut():
    with lock:
        if to_cut[0] == 0:
            return False
        to_cut[0] -= 1
        return True


def serve(client):
    try:
        upstream = socket.create_connection(("127.0.0.1", int(UPSTREAM)))
    except OSError:
        client.close()
        return
    pair = (client, upstream)
    with lock:
        open_pairs.add(pair)
    to_upstream = threading.Thread(target=pump, args=(client, upstream), daemon=True)
    to_upstream.start()
    sent = 0
    outcome = None
    try:
        while True:
            data = upstream.recv(65536)
            if not data:
                break
            if partitioned.is_set():
                continue
            if sent + len(data) >= int(CUT_AFTER) > sent and take_cut():
                client.sendall(data[: int(CUT_AFTER) - sent])
                sent = int(CUT_AFTER)
                outcome = f"cut {sent}"
                abort(client)
                abort(upstream)
                break
            client.sendall(data)
            sent += len(data)
    except OSError:
        pass
    with lock:
        open_pairs.discard(pair)
    # The upstream finished (or failed): let the client's side finish too, then close both.
    try:
        client.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    to_upstream.join()
    client.close()
    upstream.close()
    log(outcome or f"whole {sent}")


def reset_all(signum, frame):
    with lock:
        pairs = list(open_pairs)
    for client, upstream in pairs:
        abort(client)
        abort(upstream)
    log(f"reset {len(pairs)}")


def toggle_partition(signum, frame):
    if partitioned.is_set():
        partitioned.clear()
        log("partition 0")
    else:
        partitioned.set()
        log("partition 1")


signal.signal(signal.SIGUSR1, reset_all)
signal.signal(signal.SIGUSR2, toggle_partition)

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(PORT)))
listener.listen(64)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
