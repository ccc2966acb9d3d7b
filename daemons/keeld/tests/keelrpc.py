"""keelrpc - a stdlib-only JSON-RPC 2.0 client for keeld: one JSON text per line over the Unix
socket (<rundir>/keeld/socket) or TCP with TLS (ssl module; client certificate or auth.login
with a token). Events (notifications) that arrive while waiting for a reply are queued."""
import itertools
import json
import socket
import ssl


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Client:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.ids = itertools.count(1)
        self.events = []

    @classmethod
    def unix(cls, path, timeout=30):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(path)
        return cls(s)

    @classmethod
    def tls(cls, host, port, ca, cert=None, key=None, timeout=30):
        ctx = ssl.create_default_context(cafile=ca)
        ctx.check_hostname = False
        if cert:
            ctx.load_cert_chain(cert, key)
        raw = socket.create_connection((host, port), timeout=timeout)
        return cls(ctx.wrap_socket(raw))

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def read_message(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("keeld closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def reply_for(self, rid):
        while True:
            m = self.read_message()
            if isinstance(m, dict) and "id" not in m and m.get("method") == "event":
                self.events.append(m["params"])
                continue
            if isinstance(m, list) or m.get("id") == rid or m.get("id") is None:
                return m

    def call(self, method, params=None, **kw):
        rid = next(self.ids)
        req = {"jsonrpc": "2.0", "method": method, "id": rid}
        if params is not None or kw:
            req["params"] = dict(params or {}, **kw)
        self.send_raw(json.dumps(req) + "\n")
        m = self.reply_for(rid)
        if "error" in m:
            raise RpcError(m["error"]["code"], m["error"]["message"])
        return m["result"]

    def notify(self, method, params=None):
        req = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            req["params"] = params
        self.send_raw(json.dumps(req) + "\n")

    def wait_event(self, pred, timeout=20):
        import time
        end = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if pred(e):
                    return self.events.pop(i)
            left = end - time.time()
            if left <= 0:
                raise TimeoutError("no such event")
            self.sock.settimeout(left)
            try:
                m = self.read_message()
            finally:
                self.sock.settimeout(30)
            if isinstance(m, dict) and m.get("method") == "event":
                self.events.append(m["params"])

    def wait_task(self, task, timeout=60):
        """Wait for a task's task.finished event (subscribe to "task" first, or be its caller)."""
        e = self.wait_event(lambda e: e.get("event") == "task.finished" and
                            e["task"]["task"] == task, timeout)
        t = e["task"]
        if t["state"] != "done":
            raise RpcError(t["error"]["code"], t["error"]["message"])
        return t["result"]
