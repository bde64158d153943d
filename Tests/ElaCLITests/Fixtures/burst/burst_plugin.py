#!/usr/bin/python3
"""Emits burst.tick {"n": i} for i in [start, start+count) at `rate` per second (tests only). Protocol: docs/plugin-protocol.md."""
import json
import os
import struct
import threading
import time

FD = 3
lock = threading.Lock()


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
    data = memoryview(struct.pack(">I", len(body)) + body)
    with lock:
        while data:
            n = os.write(FD, data)
            data = data[n:]


def emit(start, count, rate):
    t0 = time.monotonic()
    for i in range(count):
        send({"jsonrpc": "2.0", "method": "burst.tick", "params": {"n": start + i}})
        due = t0 + (i + 1) / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def main():
    while True:
        head = read_exact(4)
        if head is None:
            return
        msg = json.loads(read_exact(struct.unpack(">I", head)[0]))
        if "method" not in msg or "id" not in msg:
            continue
        mid, method, params = msg["id"], msg["method"], msg.get("params") or {}
        if method == "ela.hello":
            send({"jsonrpc": "2.0", "id": mid, "result": {"version": 1, "name": "burst", "pluginVersion": "1.0.0",
                                                          "methods": ["burst.emit"], "events": ["burst.tick"]}})
        elif method == "ela.ping":
            send({"jsonrpc": "2.0", "id": mid, "result": {}})
        elif method == "burst.emit":
            args = (int(params.get("start", 0)), int(params.get("count", 1)), float(params.get("rate", 1000)))
            threading.Thread(target=emit, args=args, daemon=True).start()
            send({"jsonrpc": "2.0", "id": mid, "result": {"emitting": args[1]}})
        else:
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "unknown method " + method}})


main()
