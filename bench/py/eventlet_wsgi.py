"""Python Eventlet's wsgi server on TechEmpower's plaintext and json: the seed's reference.

python eventlet_wsgi.py [PORT]   (listens on 127.0.0.1 only)
"""

import sys

import eventlet
from eventlet import wsgi

PLAINTEXT = b"Hello, World!"
JSON = b'{"message":"Hello, World!"}'


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/plaintext":
        body, content_type = PLAINTEXT, "text/plain"
    elif path == "/json":
        body, content_type = JSON, "application/json"
    else:
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    start_response(
        "200 OK",
        [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Server", "eventlet")],
    )
    return [body]


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    listener = eventlet.listen(("127.0.0.1", port), backlog=1024)
    wsgi.server(listener, app, log_output=False, max_size=10000, debug=False)


if __name__ == "__main__":
    main()
