#!/usr/bin/env python3
"""A tiny SMTP-ish server for test captures: greets, answers EHLO with
STARTTLS, upgrades the connection with Python's ssl module, answers one more
EHLO and QUIT inside TLS. Serves a fixed number of connections, then exits.

usage: smtp_starttls_server.py ADDR PORT CERT KEY [CONNECTIONS]
"""
import socket
import ssl
import sys


def lines(sock):
    buf = b""
    while True:
        data = sock.recv(4096)
        if not data:
            return
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line.rstrip(b"\r").decode("ascii", "replace")


def session(conn, ctx):
    conn.sendall(b"220 mail.decnet.example ESMTP ready\r\n")
    for line in lines(conn):
        verb = line.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            conn.sendall(b"250-mail.decnet.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
        elif verb == "STARTTLS":
            conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
            tls = ctx.wrap_socket(conn, server_side=True)
            for tline in lines(tls):
                tverb = tline.split(" ", 1)[0].upper()
                if tverb in ("EHLO", "HELO"):
                    tls.sendall(b"250-mail.decnet.example\r\n250 AUTH PLAIN\r\n")
                elif tverb == "QUIT":
                    tls.sendall(b"221 2.0.0 Bye\r\n")
                    break
                else:
                    tls.sendall(b"250 OK\r\n")
            tls.close()
            return
        elif verb == "QUIT":
            conn.sendall(b"221 2.0.0 Bye\r\n")
            return
        else:
            conn.sendall(b"530 5.7.0 Must issue a STARTTLS command first\r\n")


def main():
    addr, port, cert, key = sys.argv[1:5]
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, int(port)))
    srv.listen(4)
    for _ in range(count):
        conn, _peer = srv.accept()
        try:
            session(conn, ctx)
        except (OSError, ssl.SSLError) as err:
            print(f"session ended: {err}", file=sys.stderr)
        finally:
            conn.close()


if __name__ == "__main__":
    main()
