#!/usr/bin/env python3
"""A latency proxy for benchmarks against a local AWS endpoint (moto server).

It listens on 127.0.0.1 only, forwards every HTTP/1.1 request to one upstream (moto), waits a
fixed delay before forwarding the request and again before returning the response (default
10 ms each way: 20 ms round trip, an operator near the region), and counts the requests by AWS
action:

- JSON-protocol calls (SQS in the Rust SDK and boto3, DynamoDB): the `X-Amz-Target` header,
  e.g. `AmazonSQS.ReceiveMessage` -> `sqs:ReceiveMessage`;
- query-protocol calls (CloudWatch, STS, SNS): the `Action=` form field (or query parameter),
  e.g. `monitoring:GetMetricData`;
- anything else (moto's own API): `METHOD /path`.

The service prefix comes from the SigV4 credential scope of the `Authorization` header when there
is one. Every request is recorded with the time it arrived, so a caller can count any window:

    proxy = LatencyProxy("http://127.0.0.1:5000", delay=0.010)
    url = proxy.start()                      # e.g. http://127.0.0.1:40555, served from a thread
    t0 = time.monotonic(); ...; t1 = time.monotonic()
    proxy.counts(t0, t1)                     # Counter({"sqs:ReceiveMessage": 12, ...})
    proxy.stop()

Keep-alive and concurrent connections are supported (asyncio, one upstream connection per client
connection). Run as a script it serves until interrupted and answers
`GET /__latencyproxy/counts[?since=SECONDS]` with the counts as JSON itself (not forwarded,
not counted):

    python3 scripts/latencyproxy.py --upstream http://127.0.0.1:5000 [--delay-ms 10] [--port 0]
"""
import argparse
import asyncio
import bisect
import collections
import json
import re
import sys
import threading
import time
import urllib.parse

LOOPBACK = ("127.0.0.1", "localhost", "::1")
COUNTS_PATH = "/__latencyproxy/counts"
# Bounds, so that a stuck peer ends a connection instead of holding it for ever.
HEADER_LIMIT = 64 * 1024
UPSTREAM_TIMEOUT_SECONDS = 300
IDLE_TIMEOUT_SECONDS = 600
SCOPE = re.compile(r"Credential=[^/]*/[^/]*/[^/]*/([^/]+)/aws4_request")
HOP_BY_HOP = {"proxy-connection", "keep-alive", "te", "trailer", "upgrade"}


class HttpError(Exception):
    pass


async def read_head(reader):
    """The start line and the headers (list of (name, value)), or None at a clean EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise HttpError("connection closed inside a message head") from e
    except asyncio.LimitOverrunError as e:
        raise HttpError("message head too long") from e
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpError(f"bad header line {line!r}")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers


def header(headers, name):
    name = name.lower()
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


async def read_body(reader, headers, until_eof=False):
    """The body as sent (chunked bodies are decoded: the caller resends with Content-Length)."""
    encoding = (header(headers, "Transfer-Encoding") or "").lower()
    if "chunked" in encoding:
        chunks = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # Trailers, up to the blank line.
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = header(headers, "Content-Length")
    if length is not None:
        return await reader.readexactly(int(length))
    if until_eof:
        return await reader.read()
    return b""


def rebuild(start, headers, body):
    """A message with Content-Length framing (chunked decoded) and hop-by-hop headers dropped."""
    out = [start]
    for k, v in headers:
        low = k.lower()
        if low in HOP_BY_HOP or low in ("transfer-encoding", "content-length"):
            continue
        out.append(f"{k}: {v}")
    out.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body


def action_of(method, target, headers, body):
    """`service:Action` for an AWS call, else `METHOD /path`."""
    auth = header(headers, "Authorization") or ""
    m = SCOPE.search(auth)
    service = m.group(1) if m else None
    amz_target = header(headers, "X-Amz-Target")
    if amz_target:
        name = amz_target.rsplit(".", 1)[-1]
        return f"{service or amz_target.rsplit('.', 1)[0]}:{name}"
    parts = urllib.parse.urlsplit(target)
    fields = urllib.parse.parse_qs(parts.query)
    ctype = (header(headers, "Content-Type") or "").lower()
    if "x-www-form-urlencoded" in ctype and body:
        fields.update(urllib.parse.parse_qs(body.decode("utf-8", "replace")))
    if "Action" in fields:
        return f"{service or '?'}:{fields['Action'][0]}"
    return f"{method} {parts.path}"


class LatencyProxy:
    """The proxy, served by an asyncio loop on a thread of its own (see the module's doc)."""

    def __init__(self, upstream, delay=0.010, port=0):
        parts = urllib.parse.urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK:
            raise ValueError(f"{upstream}: the upstream must be a plain-http loopback endpoint")
        self.upstream = (parts.hostname, parts.port or 80)
        self.delay = delay
        self.port = port
        self._lock = threading.Lock()
        self._times = []      # arrival times (time.monotonic()), ascending
        self._actions = []    # the action of each, same order
        self._loop = None
        self._server = None
        self._thread = None
        self.url = None
        self.errors = 0

    # ---- what callers read -------------------------------------------------------------

    def counts(self, since=None, until=None):
        """Requests by action that arrived in [since, until) (time.monotonic() values)."""
        with self._lock:
            lo = 0 if since is None else bisect.bisect_left(self._times, since)
            hi = len(self._times) if until is None else bisect.bisect_left(self._times, until)
            return collections.Counter(self._actions[lo:hi])

    def total(self, since=None, until=None):
        return sum(self.counts(since, until).values())

    # ---- running -------------------------------------------------------------------------

    def start(self):
        """Starts serving on a thread; returns the proxy's URL."""
        ready = threading.Event()
        failure = []

        def run():
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(asyncio.start_server(
                    self._client, "127.0.0.1", self.port, limit=HEADER_LIMIT))
            except Exception as e:  # noqa: BLE001 - handed to the starting thread
                failure.append(e)
                ready.set()
                return
            self.port = self._server.sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{self.port}"
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="latencyproxy", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self.url

    def stop(self):
        if not self._loop or not self._thread:
            return

        async def shutdown():
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- serving -------------------------------------------------------------------------

    def _record(self, action):
        with self._lock:
            self._times.append(time.monotonic())
            self._actions.append(action)

    async def _client(self, reader, writer):
        upstream = None
        try:
            while True:
                head = await asyncio.wait_for(read_head(reader), IDLE_TIMEOUT_SECONDS)
                if head is None:
                    return
                start, headers = head
                method, target, _version = (start.split(" ", 2) + ["", ""])[:3]
                body = await read_body(reader, headers)
                if method == "GET" and target.startswith(COUNTS_PATH):
                    await self._answer_counts(writer, target)
                    continue
                action = action_of(method, target, headers, body)
                self._record(action)
                client_closes = (header(headers, "Connection") or "").lower() == "close"
                upstream = await self._exchange(reader, writer, upstream,
                                                (start, headers, body, method, action))
                if client_closes:
                    return
        except (asyncio.CancelledError, asyncio.TimeoutError, ConnectionError,
                asyncio.IncompleteReadError, HttpError):
            pass
        except Exception as e:  # noqa: BLE001 - one bad connection must not stop the proxy
            self.errors += 1
            print(f"latencyproxy: {type(e).__name__}: {e}", file=sys.stderr)
        finally:
            for w in (writer, upstream[1] if upstream else None):
                if w is not None:
                    w.close()

    async def _exchange(self, reader, writer, upstream, request):
        """One request answered: the delay, upstream and back, the delay, the answer to the
        client. `request` is (start line, headers, body, method, action). Returns the upstream
        connection to keep (None when there is none). A subclass may change this step
        (scripts/faultproxy.py injects faults here)."""
        start, headers, body, method, _action = request
        await asyncio.sleep(self.delay)
        response, upstream = await self._forward(upstream, start, headers, body, method)
        await asyncio.sleep(self.delay)
        writer.write(response)
        await writer.drain()
        return upstream

    async def _forward(self, upstream, start, headers, body, method):
        """Sends one request upstream (reconnecting once if the kept-alive one was closed)."""
        message = rebuild(start, headers, body)
        for attempt in (0, 1):
            if upstream is None:
                upstream = await asyncio.open_connection(*self.upstream, limit=HEADER_LIMIT)
            reader, writer = upstream
            try:
                writer.write(message)
                await writer.drain()
                head = await asyncio.wait_for(read_head(reader), UPSTREAM_TIMEOUT_SECONDS)
                if head is None:
                    raise ConnectionResetError("upstream closed the connection")
                break
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                upstream = None
                if attempt:
                    raise
        status, rheaders = head
        code = int(status.split(" ", 2)[1])
        closes = (header(rheaders, "Connection") or "").lower() == "close"
        no_body = method == "HEAD" or code in (204, 304) or 100 <= code < 200
        has_framing = (header(rheaders, "Content-Length") is not None
                       or "chunked" in (header(rheaders, "Transfer-Encoding") or "").lower())
        rbody = b"" if no_body else await asyncio.wait_for(
            read_body(reader, rheaders, until_eof=not has_framing), UPSTREAM_TIMEOUT_SECONDS)
        if closes or (not no_body and not has_framing):
            writer.close()
            upstream = None
        # The client keeps its connection: the proxy reconnects upstream when it must.
        rheaders = [(k, v) for k, v in rheaders if k.lower() != "connection"]
        return rebuild(status, rheaders, rbody), upstream

    async def _answer_counts(self, writer, target):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
        since = None
        if "since" in query:
            since = time.monotonic() - float(query["since"][0])
        body = json.dumps(dict(self.counts(since).most_common()), indent=1).encode()
        writer.write(rebuild("HTTP/1.1 200 OK", [("Content-Type", "application/json")], body))
        await writer.drain()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:5000 (loopback)")
    p.add_argument("--delay-ms", type=float, default=10.0, help="delay each way (default 10)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = p.parse_args()
    proxy = LatencyProxy(args.upstream, delay=args.delay_ms / 1000, port=args.port)
    serve_until_interrupted(proxy)


def serve_until_interrupted(proxy, on_stop=None):
    """Prints the proxy's URL and serves until Ctrl-C; then stops it and calls `on_stop`."""
    print(proxy.start(), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
        if on_stop:
            on_stop()


if __name__ == "__main__":
    main()
