#!/usr/bin/env python3
"""A plain-HTTP front for a real kube-apiserver that answers 429 Too Many Requests, as an
overloaded API server does, to the first N writes (any method but GET), and forwards everything
else over TLS. Every request is logged as one line "METHOD PATH STATUS" to LOG. Loopback only.

usage: throttling_proxy.py PORT UPSTREAM CA_FILE THROTTLED_WRITES RETRY_AFTER_SECONDS LOG
"""
import http.client
import http.server
import ssl
import sys
import threading
import urllib.parse

PORT, UPSTREAM, CA_FILE, THROTTLED, RETRY_AFTER, LOG = sys.argv[1:7]
upstream = urllib.parse.urlparse(UPSTREAM)
context = ssl.create_default_context(cafile=CA_FILE)
lock = threading.Lock()
remaining = [int(THROTTLED)]


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def serve(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        if self.command != "GET":
            with lock:
                throttle = remaining[0] > 0
                if throttle:
                    remaining[0] -= 1
            if throttle:
                payload = b'{"kind":"Status","apiVersion":"v1","status":"Failure",' \
                          b'"reason":"TooManyRequests","code":429}'
                # Logged before the answer goes out: a client that has its answer finds it logged.
                log(f"{self.command} {self.path} 429")
                self.send_response(429)
                self.send_header("Retry-After", RETRY_AFTER)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
        conn = http.client.HTTPSConnection(upstream.hostname, upstream.port, context=context,
                                           timeout=30)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection", "content-length")}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        log(f"{self.command} {self.path} {resp.status}")
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler)
server.serve_forever()
