"""HTTPS transport: threaded TLS listeners, a small HTTP/1.1 parser with persistent
connections (a client may send several requests over one connection, as real Clerk allows;
every request's log record names its connection), the wire-level faults (which close the
connection after their answer), and dispatch to the FAPI, the BAPI or the control API."""
import itertools
import json
import socket
import socketserver
import ssl
import struct
import sys
import time
import traceback

import errors
import faults as faults_mod
from fapi import Request, Response
from reqlog import make_record

MAX_HEADER = 64 * 1024
MAX_BODY = 1024 * 1024
HANDSHAKE_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
IDLE_TIMEOUT = 30.0        # an idle persistent connection is closed after this
MAX_REQUESTS = 100         # requests on one connection, then it is closed
CONTROL_PREFIX = "/__emulator/"

REASONS = {200: "OK", 204: "No Content", 302: "Found", 301: "Moved Permanently", 307: "Temporary Redirect",
           308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 413: "Payload Too Large",
           415: "Unsupported Media Type", 418: "I'm a teapot", 422: "Unprocessable Entity",
           429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}


class BadRequest(Exception):
    pass


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def read_request(sock):
    """(method, target, headers{lower: first value}, body) or None if the peer went away."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        if len(buf) > MAX_HEADER:
            raise BadRequest("request head too large")
        chunk = sock.recv(8192)
        if not chunk:
            if buf:
                raise BadRequest("incomplete request head")
            return None
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest("bad request line")
    method, target, _ = parts
    headers = {}
    for line in lines[1:]:
        if ":" not in line:
            raise BadRequest("bad header line")
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip(" \t"))
    if headers.get("expect", "").lower() == "100-continue":
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _read_chunked(sock, rest)
    else:
        try:
            length = int(headers.get("content-length", "0") or "0")
        except ValueError:
            raise BadRequest("bad content-length")
        if length < 0 or length > MAX_BODY:
            raise BadRequest("body too large")
        body = rest
        while len(body) < length:
            chunk = sock.recv(min(65536, length - len(body)))
            if not chunk:
                raise BadRequest("incomplete body")
            body += chunk
        body = body[:length]
    return method, target, headers, body


def _read_chunked(sock, buf):
    body = b""
    while True:
        while b"\r\n" not in buf:
            chunk = sock.recv(8192)
            if not chunk:
                raise BadRequest("incomplete chunked body")
            buf += chunk
        size_line, _, buf = buf.partition(b"\r\n")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return body
        while len(buf) < size + 2:
            chunk = sock.recv(65536)
            if not chunk:
                raise BadRequest("incomplete chunked body")
            buf += chunk
        body += buf[:size]
        buf = buf[size + 2:]
        if len(body) > MAX_BODY:
            raise BadRequest("body too large")


def bodyless(status):
    """Statuses that never carry a body or Content-Length (RFC 9110)."""
    return status in (204, 304) or 100 <= status < 200


def http_date():
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())


def head_bytes(status, headers, length, close=False):
    """A response head; `close` says the connection ends after this answer."""
    lines = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status"))]
    lines += ["%s: %s" % (k, v) for k, v in headers
              if not (bodyless(status) and k.lower() == "content-type")]
    if not bodyless(status):
        lines.append("Content-Length: %d" % length)
    if close:
        lines.append("Connection: close")
    lines += ["Date: " + http_date(), "", ""]
    return "\r\n".join(lines).encode("iso-8859-1")


def raw_head(first, fields):
    """A head from a status line and (name, value) fields exactly as given."""
    return "\r\n".join([first] + ["%s: %s" % f for f in fields] + ["", ""]).encode("iso-8859-1")


def chunks(body, sizes=(1, 17, 300, 5, 1000)):
    """`body` as chunks of uneven sizes; the second has an extension, the third upper-case hex."""
    out, i = [], 0
    while body:
        n = sizes[i % len(sizes)]
        piece, body = body[:n], body[n:]
        size = ("%X" if i == 2 else "%x") % len(piece) + (";foo=bar" if i == 1 else "")
        out.append(size.encode() + b"\r\n" + piece + b"\r\n")
        i += 1
    return out


def odd_case(name):
    return "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(name))


def wire_writes(kind, resp):
    """The answer in the framing `kind` (faults.WIRE_KINDS) names: a list of separate writes."""
    body = resp.body
    first = "HTTP/1.1 %d %s" % (resp.status, REASONS.get(resp.status, "Status"))
    fields = list(resp.headers) + [("Connection", "close"), ("Date", http_date())]
    length = [("Content-Length", str(len(body)))]
    te = [("Transfer-Encoding", "chunked")]
    end = b"0\r\n\r\n"

    def head(extra=length, first=first, fields=fields):
        return raw_head(first, fields + extra)

    def mangled(join):
        """fields with the client token (else the trace id) split in two and rejoined by
        `join`, a raw piece of the head."""
        target = "authorization" if resp.header("Authorization") is not None \
            else "x-clerk-trace-id"
        return [(k, v[:len(v) // 2] + join + v[len(v) // 2:]) if k.lower() == target
                else (k, v) for k, v in fields]

    if kind == "chunked":
        return [head(te + [("Trailer", "X-Emu-Trailer")])] + chunks(body) + [
            b"0\r\nX-Emu-Trailer: done\r\n\r\n"]
    if kind == "close_delimited":
        return [head([]), body]
    if kind == "continue_first":
        return [b"HTTP/1.1 100 Continue\r\n\r\n",
                b"HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload; as=style\r\n\r\n",
                head() + body]
    if kind == "tiny_writes":
        data, out, sizes = head() + body, [], (1, 2, 3, 5, 8, 13, 21)
        while data:
            n = sizes[len(out) % len(sizes)]
            out.append(data[:n])
            data = data[n:]
        return out
    if kind == "header_variants":
        # (http_parser refuses a tab after the Content-Length digits: spaces there)
        odd = ([(odd_case(k), " \t %s\t " % v) for k, v in fields] +
               [(odd_case(k), "\t %s  " % v) for k, v in length])
        return [head(fields=odd, extra=[("X-Emu-Long", "L" * 4096)] + [
            ("x-emu-%d" % i, "v%d" % i) for i in range(200)]) + body]
    if kind == "garbage_after_answer":
        junk = b"HTTP/1.1 200 OK\r\nAuthorization: injected\r\nContent-Length: 2\r\n\r\n{}"
        return [head() + body + junk + b"\x00\xff\r\n\r\njunk" * 100]
    if kind == "duplicate_content_length":   # the first is right
        return [head(length + [("Content-Length", str(len(body) + 10))]) + body]
    if kind == "content_length_and_chunked":
        return [head(length + te)] + chunks(body) + [end]
    if kind == "bad_chunk_size":
        return [head(te), chunks(body[:10], (10,))[0], b"zz\r\n" + body[10:] + b"\r\n" + end]
    if kind == "huge_chunk_size":
        return [head(te), b"ffffffffffffffffff\r\n" + body + b"\r\n" + end]
    if kind == "truncated_chunked":
        rest = body[100:]
        return [head(te), chunks(body[:100], (100,))[0],
                b"%x\r\n" % len(rest) + rest[:len(rest) // 2]]
    if kind == "short_content_length_close":
        return [head([("Content-Length", str(len(body) + 100))]) + body]
    if kind in ("bad_status_line", "bad_protocol_name"):
        return [head(first="HTTP/1.1 2OO OK" if kind == "bad_status_line"
                     else "HTTZ/1.1 200 OK") + body]
    if kind == "http09":
        return [body]
    if kind == "nul_in_header":
        return [head(fields=mangled("\0")) + body]
    if kind == "bare_lf_in_header_value":
        return [head(fields=mangled("\nAuthorization: injected-")) + body]
    if kind == "cr_in_header_value":
        return [head(fields=mangled("\rAuthorization: injected-")) + body]
    if kind == "obs_fold":
        return [head(fields=mangled("\r\n ")) + body]
    if kind == "switching_protocols":       # then the real answer, as if it were a 100
        return [b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\n\r\n", head() + body]
    if kind == "headers_too_big":           # 70 kB of headers; the module's cap is 64 kB
        return [head(length + [("X-Emu-Pad-%d" % i, "p" * 1000) for i in range(70)]) + body]
    if kind == "body_too_big_chunked":      # 2 MiB; the module's cap is 1 MiB
        block = chunks(b"A" * 65536, (65536,))[0]
        return [head(te), chunks(b'{"response":{"padding":"', (24,))[0]] + [block] * 32 + [end]
    raise ValueError("unknown wire kind %r" % kind)


def wrong_types_body(path):
    """A 200 body of the right shape for the path whose fields have the wrong JSON types."""
    if "/tokens" in path:
        return {"object": "token", "jwt": 12345}
    if path.endswith("jwks.json"):
        return {"keys": "x"}
    return {"response": {"object": 42, "id": 1, "status": 7, "identifier": ["x"],
                         "created_session_id": 12345, "first_factor_verification": "verified",
                         "second_factor_verification": 0, "supported_first_factors": {},
                         "abandon_at": "soon", "last_active_token": [], "sessions": "none"},
            "client": "x"}


class Emulator:
    """Holds the shared parts the listeners dispatch to."""

    def __init__(self, fapi, control_api, faults, reqlog, stop_event, bapi=None):
        self.fapi = fapi
        self.bapi = bapi
        self.control_api = control_api
        self.faults = faults
        self.reqlog = reqlog
        self.stop_event = stop_event


class Listener(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, name, ctx, emu, control_allowed, fapi_allowed=True, api="fapi"):
        self.name = name
        self.api = api            # what it serves besides control: "fapi" or "bapi"
        self.ctx = ctx
        self.emu = emu
        self.control_allowed = control_allowed
        self.fapi_allowed = fapi_allowed
        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        self.connection_ids = itertools.count(1)   # next() is atomic under the GIL
        self.base_url = "https://127.0.0.1:%d" % self.port

    def handle_error(self, request, client_address):
        # connection-level trouble (peer reset, TLS failure) is normal here: stay quiet
        exc = sys.exc_info()[1]
        if not isinstance(exc, (OSError, ssl.SSLError, BadRequest)):
            sys.stderr.write("emulator: internal error on %s listener: %s\n"
                             % (self.name, type(exc).__name__))
            traceback.print_exc(file=sys.stderr)


def _rst_close(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _close_notify(sock):
    """A clean TLS close (close_notify), so that only the HTTP framing says where the answer
    ends; waits at most 0.5 s for the peer's."""
    try:
        sock.settimeout(0.5)
        sock.unwrap()
    except (OSError, ssl.SSLError, ValueError):
        pass


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server
        emu = srv.emu
        raw = self.request
        if srv.fapi_allowed:
            f = emu.faults.take("connect", api=srv.api)
            if f is not None:          # hang_tls: TCP accepted, no handshake ever
                self._hang(raw, f.params["timeout"])
                return
        # As real servers do: no Nagle delay on answers written in more than one piece
        # (TLS 1.3 session tickets, then the answer) that would stall a waiting client.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw.settimeout(HANDSHAKE_TIMEOUT)
        try:
            sock = srv.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.conn_id = "%s-%d" % (srv.name, next(srv.connection_ids))
        self.sock = sock
        try:
            # One request after another until the client closes, asks to close, goes idle
            # too long, or a fault (or a bad request) ends the connection.
            for n in range(MAX_REQUESTS):
                sock.settimeout(IDLE_TIMEOUT if n else READ_TIMEOUT)
                self.keep = n + 1 < MAX_REQUESTS
                try:
                    parsed = read_request(sock)
                except BadRequest as e:
                    self.keep = False
                    self._send_plain(400, "bad request: %s\n" % e)
                    return
                except socket.timeout:
                    return
                if parsed is None:
                    return
                sock.settimeout(READ_TIMEOUT)
                if parsed[2].get("connection", "").lower() == "close":
                    self.keep = False
                self._one(*parsed)
                if not self.keep:
                    return
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _one(self, method, target, headers, body):
        srv = self.server
        emu = srv.emu
        req = Request(method, target, headers, body, srv.name, srv.base_url)
        if req.path.startswith(CONTROL_PREFIX):
            if not srv.control_allowed:
                self._send_plain(404, "control API not on this listener\n")
                return
            status, obj = emu.control_api.handle(method, req.path, body)
            data = json.dumps(obj).encode("utf-8")
            self.sock.sendall(head_bytes(status, [("Content-Type", "application/json")],
                                         len(data), not self.keep) + data)
            return
        if not srv.fapi_allowed:
            self._send_plain(404, "only the control API is served here\n")
            return
        self._fapi(req)

    # ---- helpers ---------------------------------------------------------------------
    def _send_plain(self, status, text):
        data = text.encode("utf-8")
        self.sock.sendall(head_bytes(status, [("Content-Type", "text/plain")], len(data),
                                     not self.keep) + data)

    def _hang(self, sock, timeout):
        """Say nothing until the peer goes, the timeout passes or the emulator stops."""
        stop = self.server.emu.stop_event
        deadline = time.monotonic() + min(timeout, faults_mod.MAX_HANG)
        sock.settimeout(0.25)
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    data = sock.recv(4096)
                except (socket.timeout, ssl.SSLWantReadError):
                    continue
                except (OSError, ssl.SSLError):
                    return
                if not data:
                    return
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _log(self, req, resp, fault, status=None):
        emu = self.server.emu
        rec = make_record(req, resp.status if resp is not None else status,
                          resp.clerk_error if resp is not None else None,
                          resp.sign_in_status if resp is not None else None,
                          fault.name if fault is not None else None, api=self.server.api,
                          jwt_faults=getattr(resp, "jwt_faults", None))
        rec["connection"] = self.conn_id
        emu.reqlog.append(rec)

    def _fapi(self, req):
        emu = self.server.emu
        sock = self.sock
        api = self.server.api
        fault = emu.faults.take("request", req.method, req.path, api=api)
        app = emu.bapi if api == "bapi" else emu.fapi
        name = fault.name if fault is not None else None
        if fault is not None and name != "delay":
            self.keep = False      # a faulted answer ends its connection
        if name == "delay":
            if emu.stop_event.wait(float(fault.params["seconds"])):
                return
        elif name == "hang":
            self._log(req, None, fault)
            self._hang(sock, fault.params["timeout"])
            return
        elif name == "reset":
            self._log(req, None, fault)
            _rst_close(sock)
            return
        elif name in ("status", "unexpected_status"):
            st = int(fault.params["http_status"])
            text = fault.params.get("body")
            if text is None:
                if st == 500:
                    resp = Response(500)
                    _, env = errors.error_body("internal_clerk_error", resp.trace_id)
                    resp.body = json.dumps(env).encode()
                    resp.clerk_error = "internal_clerk_error"
                else:
                    resp = Response(st, ("<html><body><h1>%d %s</h1></body></html>\n" % (
                        st, REASONS.get(st, "Status"))).encode(), content_type="text/html")
            else:
                resp = Response(st, str(text).encode("utf-8"), content_type="text/plain")
            self._send(req, resp, fault)
            return
        elif name == "redirect":
            loc = fault.params.get("location") or (req.base_url + req.target)
            resp = Response(int(fault.params["status"]), b"", content_type="text/plain",
                            headers=[("Location", loc)])
            self._send(req, resp, fault)
            return
        try:
            resp = app.handle(req, fault)
        except Exception:
            sys.stderr.write("emulator: internal error handling %s %s\n" % (req.method, req.path))
            traceback.print_exc(file=sys.stderr)
            resp = Response(500)
            _, env = errors.error_body("internal_clerk_error", resp.trace_id)
            resp.body = json.dumps(env).encode()
            resp.clerk_error = "internal_clerk_error"
        if name == "truncated_json":
            resp.body = resp.body[:len(resp.body) // 2]
        elif name == "malformed_json":
            resp.status = 200
            resp.body = (b'{"response": {"object": "sign_in_attempt", "status": "complete",, '
                         b'"created_session_id": sess_}, "client": {"sessions": [}')
        elif name == "wrong_types":
            resp.status = 200
            resp.body = json.dumps(wrong_types_body(req.path)).encode()
        elif name == "empty_body_200":
            resp.status = 200
            resp.body = b""
        elif name == "oversized":
            resp.status = 200
            self._send_oversized(req, resp, fault, int(fault.params["bytes"]))
            return
        self._send(req, resp, fault)

    def _send(self, req, resp, fault):
        if bodyless(resp.status):
            resp.body = b""
        self._log(req, resp, fault)
        name = fault.name if fault is not None else None
        data = head_bytes(resp.status, resp.headers, len(resp.body), not self.keep) + resp.body
        sock = self.sock
        if name == "hang_after_headers":
            sock.sendall(head_bytes(resp.status, resp.headers, len(resp.body), True))
            self._hang(sock, fault.params["timeout"])
        elif name == "drip":
            interval = float(fault.params["interval"])
            deadline = time.monotonic() + faults_mod.MAX_HANG
            for i in range(len(data)):
                if time.monotonic() > deadline:
                    break
                sock.sendall(data[i:i + 1])
                if self.server.emu.stop_event.wait(interval):
                    break
        elif name == "wire":
            writes = wire_writes(fault.params["kind"], resp)
            pause = min(0.001, 0.5 / len(writes)) if fault.params["kind"] == "tiny_writes" else 0
            for piece in writes:
                sock.sendall(piece)
                if pause:
                    time.sleep(pause)
            _close_notify(sock)
        elif name == "reset_mid_body":
            head = head_bytes(resp.status, resp.headers, len(resp.body), True)
            sock.sendall(head + resp.body[:len(resp.body) // 2])
            time.sleep(0.05)
            _rst_close(sock)
        else:
            sock.sendall(data)

    def _send_oversized(self, req, resp, fault, total):
        self._log(req, resp, fault)
        prefix = (b'{"response":{"object":"sign_in_attempt","id":"sia_oversized",'
                  b'"status":"complete","padding":"')
        total = max(total, len(prefix))
        self.sock.sendall(head_bytes(200, resp.headers, total, True) + prefix)
        left = total - len(prefix)
        block = b"A" * 65536
        while left > 0 and not self.server.emu.stop_event.is_set():
            n = min(left, len(block))
            self.sock.sendall(block[:n])
            left -= n
