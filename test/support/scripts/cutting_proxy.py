#!/usr/bin/env python3
"""A TCP proxy for fault tests: forwards 127.0.0.1:PORT to UPSTREAM_PORT on loopback, and cuts
(resets both sides of) the first CUT_CONNECTIONS connections whose answer from the upstream
reaches CUT_AFTER_BYTES, as a server killed mid-transfer would. Smaller answers, and everything
after those cuts, pass whole. Each connection is logged as one line "cut BYTES" or "whole BYTES"
to LOG. SIGUSR1 resets every connection open at that moment (logged "reset N"), as a load
balancer that drops its connections does; TLS passes through untouched.

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
open_sockets = set()


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


def reset(sock):
    # shutdown first: it wakes the other thread blocked in recv() on this socket, which would
    # otherwise keep the connection open past close().
    for step in (lambda: sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                          struct.pack("ii", 1, 0)),
                 lambda: sock.shutdown(socket.SHUT_RDWR), sock.close):
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
    with lock:
        open_sockets.update((client, upstream))
    threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
    sent = 0
    try:
        while True:
            data = upstream.recv(65536)
            if not data:
                break
            if sent + len(data) >= int(CUT_AFTER) > sent and take_cut():
                client.sendall(data[: int(CUT_AFTER) - sent])
                sent = int(CUT_AFTER)
                log(f"cut {sent}")
                reset(client)
                reset(upstream)
                return
            client.sendall(data)
            sent += len(data)
    except OSError:
        pass
    log(f"whole {sent}")
    with lock:
        open_sockets.difference_update((client, upstream))
    client.close()
    upstream.close()


def reset_all(signum, frame):
    with lock:
        sockets = list(open_sockets)
        open_sockets.clear()
    for sock in sockets:
        reset(sock)
    log(f"reset {len(sockets) // 2}")


signal.signal(signal.SIGUSR1, reset_all)


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(PORT)))
listener.listen(16)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
