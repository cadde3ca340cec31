"""The decky's side of tests/evasion_received.rs: a TLS server on port 443
and an HTTP server on port 80 that write what they really received (the
ClientHello's server name, the request's User-Agent) to a log, one line
each: `sni NAME` / `ua AGENT`. Run inside the decky's namespace.

usage: evasion_server.py LOG CERT KEY
"""
import http.server
import socket
import ssl
import sys
import threading

log_path, cert, key = sys.argv[1:4]
log_lock = threading.Lock()


def note(line):
    with log_lock, open(log_path, "a") as f:
        f.write(line + "\n")


def on_sni(sslobj, name, ctx):
    note("sni %s" % name)


def tls_server():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.sni_callback = on_sni
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", 443))
    srv.listen(16)
    while True:
        conn, _ = srv.accept()
        conn.settimeout(5)
        threading.Thread(target=handshake, args=(ctx, conn), daemon=True).start()


def handshake(ctx, conn):
    # The client never finishes the handshake: only the hello matters.
    try:
        ctx.wrap_socket(conn, server_side=True)
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        note("ua %s" % self.headers.get("User-Agent", ""))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


threading.Thread(target=tls_server, daemon=True).start()
http.server.ThreadingHTTPServer(("0.0.0.0", 80), Handler).serve_forever()
