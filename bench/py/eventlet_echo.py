"""Python Eventlet's own echo server: the seed's reference.

python eventlet_echo.py [PORT]   (listens on 127.0.0.1 only)
"""

import socket
import sys

import eventlet


def echo(sock, _addr):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with sock:
        while True:
            data = sock.recv(4096)
            if not data:
                return
            sock.sendall(data)


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    listener = eventlet.listen(("127.0.0.1", port), backlog=1024)
    eventlet.serve(listener, echo, concurrency=10000)


if __name__ == "__main__":
    main()
