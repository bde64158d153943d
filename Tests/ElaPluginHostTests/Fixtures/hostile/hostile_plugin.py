#!/usr/bin/python3
"""A plugin that misbehaves on command (tests only). Speaks the protocol of docs/plugin-protocol.md on fd 3.

hostile.probe {"what": ...} reports what happened when it tried something a sandbox must stop:
  shadow (read /etc/shadow), write_outside (write /usr/ela-hostile and /tmp/../etc), write_state (write in its
  state dir), tcp (connect to params.port on 127.0.0.1), ptrace (attach to params.pid), fork_bomb (fork until it
  fails), memory (allocate params.mb megabytes), identity (uid, gid, pid, hostname).
Config: {"exit_at_start": <code>} exits before the handshake (crash-loop tests).
"""
import ctypes
import json
import os
import socket
import struct
import sys
import time

FD = 3


def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = os.read(FD, n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def send_raw(data):
    view = memoryview(data)
    while view:
        n = os.write(FD, view)
        view = view[n:]


def send(message):
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    send_raw(struct.pack(">I", len(body)) + body)


def attempt(fn):
    try:
        return {"ok": True, "result": fn()}
    except Exception as e:  # the point is to report any failure
        return {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}


def probe(what, params):
    if what == "shadow":
        return attempt(lambda: open("/etc/shadow").read()[:10])
    if what == "write_outside":
        def w():
            for path in ("/usr/ela-hostile", "/ela-hostile", "/etc/ela-hostile"):
                try:
                    with open(path, "w") as f:
                        f.write("x")
                    return "wrote " + path
                except OSError:
                    continue
            raise PermissionError("no path outside the state dir was writable")
        return attempt(w)
    if what == "write_state":
        def w():
            path = os.path.join(os.environ["ELA_STATE_DIR"], "probe.txt")
            with open(path, "w") as f:
                f.write("ok")
            return path
        return attempt(w)
    if what == "tcp":
        def c():
            s = socket.create_connection(("127.0.0.1", int(params["port"])), timeout=2)
            s.close()
            return "connected"
        return attempt(c)
    if what == "ptrace":
        def p():
            libc = ctypes.CDLL(None, use_errno=True)
            PTRACE_ATTACH = 16
            r = libc.ptrace(PTRACE_ATTACH, int(params["pid"]), None, None)
            if r != 0:
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            return "attached"
        return attempt(p)
    if what == "fork_bomb":
        def f():
            children = []
            try:
                for _ in range(10000):
                    pid = os.fork()
                    if pid == 0:
                        time.sleep(5)
                        os._exit(0)
                    children.append(pid)
            except OSError as e:
                n = len(children)
                for c in children:
                    os.kill(c, 9)
                    os.waitpid(c, 0)
                raise OSError("fork failed after %d children: %s" % (n, e))
            for c in children:
                os.kill(c, 9)
            return "forked %d" % len(children)
        return attempt(f)
    if what == "memory":
        def m():
            blocks = []
            for _ in range(int(params.get("mb", 256))):
                blocks.append(bytearray(1 << 20))
            return "allocated %d MB" % len(blocks)
        return attempt(m)
    if what == "identity":
        return attempt(lambda: {"uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid(),
                                "hostname": socket.gethostname()})
    return {"ok": False, "error": "unknown probe " + what}


def main():
    ready = False
    config = {}
    while True:
        header = read_exact(4)
        if header is None:
            return 0
        (length,) = struct.unpack(">I", header)
        message = json.loads(read_exact(length))
        method, mid, params = message.get("method"), message.get("id"), message.get("params") or {}
        if method == "ela.hello":
            config = params.get("config") or {}
            if "exit_at_start" in config:
                return int(config["exit_at_start"])
            ready = True
            send({"jsonrpc": "2.0", "id": mid, "result": {
                "version": 1, "name": "hostile", "pluginVersion": "1.0.0",
                "methods": ["hostile.echo", "hostile.probe", "hostile.crash", "hostile.hang", "hostile.garbage",
                            "hostile.oversize", "hostile.flood", "hostile.close_socket", "hostile.slow",
                            "hostile.big_event", "hostile.ask_host"],
                "events": ["hostile.tick"]}})
        elif not ready:
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32003, "message": "hello first"}})
        elif method == "ela.ping":
            send({"jsonrpc": "2.0", "id": mid, "result": {}})
        elif method == "hostile.echo":
            send({"jsonrpc": "2.0", "id": mid, "result": params})
        elif method == "hostile.probe":
            send({"jsonrpc": "2.0", "id": mid, "result": probe(params.get("what", ""), params)})
        elif method == "hostile.crash":
            os._exit(int(params.get("code", 3)))
        elif method == "hostile.hang":
            while True:
                time.sleep(60)
        elif method == "hostile.slow":
            # Answers, but only after the host may have given up on it.
            time.sleep(float(params.get("ms", 300)) / 1000)
            send({"jsonrpc": "2.0", "id": mid, "result": "late"})
        elif method == "hostile.big_event":
            # An event just under the frame limit: no room left for the host's ela.event wrapper.
            size = int(params.get("size", (1 << 20) - 200))
            body = json.dumps({"jsonrpc": "2.0", "method": "hostile.tick", "params": {"pad": "x" * size}},
                              separators=(",", ":")).encode()
            for _ in range(int(params.get("count", 1))):
                send_raw(struct.pack(">I", len(body)) + body)
            send({"jsonrpc": "2.0", "id": mid, "result": len(body)})
        elif method == "hostile.ask_host":
            # Floods the host with requests of its own, then counts how they were answered.
            n = int(params.get("count", 200))
            for i in range(n):
                send({"jsonrpc": "2.0", "id": 100000 + i, "method": params.get("method", "hostile.question"), "params": {}})
            ok = busy = got = 0
            while got < n:
                (length,) = struct.unpack(">I", read_exact(4))
                reply = json.loads(read_exact(length))
                if reply.get("method") == "ela.ping":
                    send({"jsonrpc": "2.0", "id": reply["id"], "result": {}})
                    continue
                got += 1
                if "result" in reply:
                    ok += 1
                elif "busy" in reply.get("error", {}).get("message", ""):
                    busy += 1
            send({"jsonrpc": "2.0", "id": mid, "result": {"ok": ok, "busy": busy}})
        elif method == "hostile.close_socket":
            # Closes its end to the host and stays alive: unreachable, so as good as hung.
            os.close(FD)
            while True:
                time.sleep(60)
        elif method == "hostile.garbage":
            for i in range(int(params.get("count", 100))):
                body = b"this is not json %d" % i
                send_raw(struct.pack(">I", len(body)) + body)
            send({"jsonrpc": "2.0", "id": mid, "result": "sent garbage"})
        elif method == "hostile.oversize":
            send_raw(struct.pack(">I", 0x7FFFFFFF) + b"x" * 1024)
        elif method == "hostile.flood":
            tick = json.dumps({"jsonrpc": "2.0", "method": "hostile.tick", "params": {"n": 0}},
                              separators=(",", ":")).encode()
            frame = struct.pack(">I", len(tick)) + tick
            batch = frame * 1000
            for _ in range(int(params.get("count", 100000)) // 1000):
                send_raw(batch)
            send({"jsonrpc": "2.0", "id": mid, "result": "flooded"})
        else:
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "unknown method %s" % method}})


if __name__ == "__main__":
    sys.exit(main())
