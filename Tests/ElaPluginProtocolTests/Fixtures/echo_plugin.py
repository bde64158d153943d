#!/usr/bin/env python3
"""A minimal Elastos Device Agent plugin in Python, written only from docs/plugin-protocol.md.

Speaks length-prefixed JSON-RPC 2.0 on file descriptor 3: answers the `ela.hello` handshake, serves `echo.say`,
emits an `echo.tick` event after each call, reports unknown methods, and exits when the host closes the socket.
"""
import json
import os
import struct
import sys

FD = 3


def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = os.read(FD, n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def send(message):
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    os.write(FD, struct.pack(">I", len(body)) + body)


def main():
    ready = False
    while True:
        header = read_exact(4)
        if header is None:
            return 0
        (length,) = struct.unpack(">I", header)
        if length > 1 << 20:
            return 2
        message = json.loads(read_exact(length))
        method, mid, params = message.get("method"), message.get("id"), message.get("params") or {}
        if method == "ela.hello":
            if 1 not in params.get("versions", []):
                send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32002, "message": "this plugin speaks version 1"}})
                return 1
            ready = True
            send({"jsonrpc": "2.0", "id": mid, "result": {
                "version": 1, "name": "echo", "pluginVersion": "1.0.0",
                "methods": ["echo.say"], "events": ["echo.tick"]}})
        elif not ready:
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32003, "message": "hello first"}})
        elif method == "echo.say":
            send({"jsonrpc": "2.0", "id": mid, "result": {"said": params.get("text", "")}})
            send({"jsonrpc": "2.0", "method": "echo.tick", "params": {"count": 1}})
        else:
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "unknown method %s" % method}})


if __name__ == "__main__":
    sys.exit(main())
