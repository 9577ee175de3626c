"""A stand-in for the registry's manifest API, for unit tests of http.sh that run real curl from real bash.

    python3 fakeRegistry.py STATE_DIR

Listens on 127.0.0.1 (a free port, printed on stdout as the first line) and serves, from STATE_DIR:
- manifests.json: {"<name>:<tag or digest>": {"type": media type, "body": text}}, read on every request, written on PUT;
- credential: the one accepted `Authorization` header value (anything else is answered 401);
- faults: lines of HTTP statuses; each request takes the first line off and is answered with it (a transient fault);
- requests.jsonl: every request, one JSON object per line: method, path, accept, contentType, authorization, body.

GET and PUT /v2/<name>/manifests/<ref> only; a missing manifest is 404 with the registry's MANIFEST_UNKNOWN body.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = sys.argv[1]


def path_of(name: str) -> str:
    return os.path.join(STATE, name)


def read_json(name: str, default):
    try:
        with open(path_of(name), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return default


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        with open(path_of("requests.jsonl"), "a", encoding="utf-8") as f:
            f.write(
                json.dumps(
                    {
                        "method": self.command,
                        "path": self.path,
                        "accept": self.headers.get("Accept"),
                        "contentType": self.headers.get("Content-Type"),
                        "authorization": self.headers.get("Authorization"),
                        "body": body,
                    }
                )
                + "\n"
            )
        try:
            with open(path_of("faults"), encoding="utf-8") as f:
                faults = [line for line in f.read().split("\n") if line.strip()]
        except FileNotFoundError:
            faults = []
        if faults:
            with open(path_of("faults"), "w", encoding="utf-8") as f:
                f.write("\n".join(faults[1:]))
            self.reply(int(faults[0]), b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}')
            return
        with open(path_of("credential"), encoding="utf-8") as f:
            if self.headers.get("Authorization") != f.read().strip():
                self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')
                return
        parts = self.path.split("/manifests/")
        if not self.path.startswith("/v2/") or len(parts) != 2:
            self.reply(404, b"{}")
            return
        key = parts[0][len("/v2/") :] + ":" + parts[1]
        manifests = read_json("manifests.json", {})
        if self.command == "PUT":
            manifests[key] = {"type": self.headers.get("Content-Type"), "body": body}
            with open(path_of("manifests.json"), "w", encoding="utf-8") as f:
                json.dump(manifests, f)
            self.reply(201, b"")
        elif key in manifests:
            self.reply(200, manifests[key]["body"].encode("utf-8"), manifests[key]["type"])
        else:
            self.reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')

    do_GET = handle_any
    do_PUT = handle_any


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
