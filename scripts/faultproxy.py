#!/usr/bin/env python3
"""A fault proxy for runs against a local AWS endpoint (moto server): scripts/latencyproxy.py
(same forwarding, same counts by action) plus faults drawn per request from a seeded RNG.

Each request, in the order requests arrive, draws once:

- with probability `reset`, the client's connection is reset (TCP RST, nothing answered). Of
  those, a share `reset_after` is reset *after* the request was forwarded and answered upstream
  (the effect happened, the client never hears of it: a retry repeats it), the rest *before*
  (the request never reaches the endpoint);
- else with probability `delay_share`, the answer is held `delay_seconds` after the upstream
  answered. If the client gives up meanwhile (closes or resets its connection: a timeout on its
  side), that is counted as a timeout and nothing is written back.

The same seed gives the same sequence of draws; which request gets which draw still depends on
the order requests arrive in, so two runs of a concurrent client differ in detail, not in rate.

A `label` function may file requests under finer names than their action (the body is at hand).

The AWS SDKs (Rust, boto3) say which attempt a request is in the `amz-sdk-request` header
(`attempt=2; max=3`) and tie the attempts of one call together with `amz-sdk-invocation-id`, so
the proxy also counts the SDK's retries by action, and the calls whose last attempt it faulted
(the SDK gave up, or stopped retrying: the error reached the caller).

    proxy = FaultProxy("http://127.0.0.1:5000", reset=0.05, delay_share=0.01, seed=7)
    url = proxy.start()
    ...
    proxy.faults()      # {"total": {...}, "byAction": {"sqs:ReceiveMessage": {...}, ...}}
    proxy.stop()

Run as a script it serves until interrupted; `GET /__latencyproxy/counts` answers the counts as
the latency proxy does, and `GET /__latencyproxy/counts?faults=1` the fault figures:

    python3 scripts/faultproxy.py --upstream http://127.0.0.1:5000 [--reset 0.05]
        [--delay-share 0.01] [--delay-seconds 2] [--reset-after 0.5] [--seed 1] [--port 0]
"""
import argparse
import asyncio
import collections
import json
import os
import random
import re
import socket
import struct
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from latencyproxy import LatencyProxy, header, rebuild, serve_until_interrupted  # noqa: E402

ATTEMPT = re.compile(r"attempt=(\d+)(?:;\s*max=(\d+))?")
# How often a held answer looks whether its client is still there.
WATCH_SECONDS = 0.05
# What the proxy counts per action (and in total).
FIELDS = ("requests", "sdkRetries", "resetBefore", "resetAfter", "delayed", "timeouts",
          "gaveUp")


class FaultProxy(LatencyProxy):
    """The latency proxy with resets and delays (see the module's doc). `latency` is the
    latency proxy's fixed delay each way (0 by default here)."""

    def __init__(self, upstream, reset=0.05, delay_share=0.01, delay_seconds=2.0,
                 reset_after=0.5, seed=1, latency=0.0, port=0, label=None):
        super().__init__(upstream, delay=latency, port=port)
        for name, value in (("reset", reset), ("delay_share", delay_share),
                            ("reset_after", reset_after)):
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be within 0..1, not {value}")
        if reset + delay_share > 1:
            raise ValueError("reset + delay_share must not exceed 1")
        if delay_seconds < 0:
            raise ValueError("delay_seconds must not be negative")
        self.reset = reset
        self.delay_share = delay_share
        self.delay_seconds = delay_seconds
        self.reset_after = reset_after
        self.seed = seed
        # label(action, body) -> the name the fault figures file the request under (e.g. to
        # tell a conditional PutItem from a plain one); the counts by action keep the action.
        self.label = label or (lambda action, _body: action)
        self._rng = random.Random(seed)
        self._by_action = collections.defaultdict(collections.Counter)
        # invocation id -> (action, attempt, max attempts, was that attempt faulted)
        self._calls = {}

    # ---- what callers read -------------------------------------------------------------

    def faults(self):
        """The figures so far: totals and by action (see FIELDS), plus the settings."""
        with self._lock:
            by_action = {a: dict(c) for a, c in self._by_action.items()}
            gave_up = collections.Counter(
                action for action, _, _, faulted in self._calls.values() if faulted)
        for action, n in gave_up.items():
            by_action.setdefault(action, {})["gaveUp"] = n
        for c in by_action.values():
            for f in FIELDS:
                c.setdefault(f, 0)
        total = {f: sum(c[f] for c in by_action.values()) for f in FIELDS}
        return {"settings": {"reset": self.reset, "resetAfter": self.reset_after,
                             "delayShare": self.delay_share,
                             "delaySeconds": self.delay_seconds, "seed": self.seed},
                "total": total, "byAction": dict(sorted(by_action.items()))}

    # ---- serving -------------------------------------------------------------------------

    def _count(self, action, field):
        with self._lock:
            self._by_action[action][field] += 1

    def _note_attempt(self, action, headers):
        """Counts an SDK retry; returns (invocation id, attempt) of the call (the id is None
        outside the SDKs)."""
        m = ATTEMPT.search(header(headers, "amz-sdk-request") or "")
        invocation = header(headers, "amz-sdk-invocation-id")
        attempt = int(m.group(1)) if m else 1
        with self._lock:
            self._by_action[action]["requests"] += 1
            if attempt > 1:
                self._by_action[action]["sdkRetries"] += 1
            if invocation:
                self._calls[invocation] = (action, attempt,
                                           int(m.group(2)) if m and m.group(2) else None, False)
        return invocation, attempt

    def _faulted(self, attempt):
        """Marks the call's attempt faulted, unless a later attempt of it arrived meanwhile."""
        invocation, number = attempt
        if not invocation:
            return
        with self._lock:
            call = self._calls.get(invocation)
            if call and call[1] == number:
                self._calls[invocation] = call[:3] + (True,)

    def _draw(self):
        """'reset-before', 'reset-after', 'delay' or None, from the seeded sequence."""
        r = self._rng.random()
        if r < self.reset:
            return "reset-after" if self._rng.random() < self.reset_after else "reset-before"
        if r < self.reset + self.delay_share:
            return "delay"
        return None

    @staticmethod
    def _reset(writer):
        """Closes the client's connection with a TCP RST (SO_LINGER 0), unanswered."""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        writer.transport.abort()

    @staticmethod
    def _close(upstream):
        if upstream is not None:
            upstream[1].close()

    async def _client_gone(self, reader, seconds):
        """Waits `seconds`; True as soon as the client closed or reset its connection."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if reader.at_eof() or reader.exception() is not None:
                return True
            await asyncio.sleep(min(WATCH_SECONDS, max(0.0, deadline - time.monotonic())))
        return reader.at_eof() or reader.exception() is not None

    async def _exchange(self, reader, writer, upstream, request):
        start, headers, body, method, action = request
        action = self.label(action, body)
        attempt = self._note_attempt(action, headers)
        fault = self._draw()
        if fault == "reset-before":
            self._count(action, "resetBefore")
            self._faulted(attempt)
            self._close(upstream)
            self._reset(writer)
            raise ConnectionResetError("fault proxy: reset before forwarding")
        await asyncio.sleep(self.delay)
        response, upstream = await self._forward(upstream, start, headers, body, method)
        await asyncio.sleep(self.delay)
        if fault == "reset-after":
            self._count(action, "resetAfter")
            self._faulted(attempt)
            self._close(upstream)
            self._reset(writer)
            raise ConnectionResetError("fault proxy: reset after forwarding")
        if fault == "delay":
            self._count(action, "delayed")
            if await self._client_gone(reader, self.delay_seconds):
                self._count(action, "timeouts")
                self._faulted(attempt)
                self._close(upstream)
                raise ConnectionResetError("fault proxy: the client gave up on a delayed answer")
        writer.write(response)
        await writer.drain()
        return upstream

    async def _answer_counts(self, writer, target):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
        if "faults" not in query:
            await super()._answer_counts(writer, target)
            return
        body = json.dumps(self.faults(), indent=1).encode()
        writer.write(rebuild("HTTP/1.1 200 OK", [("Content-Type", "application/json")], body))
        await writer.drain()


def fraction(text):
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction within 0..1")
    return value


def add_fault_arguments(p, seed):
    """The fault flags, shared by this script and fault-run.py."""
    p.add_argument("--reset", type=fraction, default=0.05,
                   help="share of requests whose connection is reset (0.05)")
    p.add_argument("--reset-after", type=fraction, default=0.5,
                   help="share of the resets made after the upstream answered (0.5)")
    p.add_argument("--delay-share", type=fraction, default=0.01,
                   help="share of requests whose answer is held (0.01)")
    p.add_argument("--delay-seconds", type=float, default=2.0, help="how long (2 s)")
    p.add_argument("--seed", type=int, default=seed, help=f"seed of the fault draws ({seed})")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:5000 (loopback)")
    add_fault_arguments(p, seed=1)
    p.add_argument("--latency-ms", type=float, default=0.0,
                   help="fixed delay each way on every request, as latencyproxy's (0)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = p.parse_args()
    try:
        proxy = FaultProxy(args.upstream, reset=args.reset, delay_share=args.delay_share,
                           delay_seconds=args.delay_seconds, reset_after=args.reset_after,
                           seed=args.seed, latency=args.latency_ms / 1000, port=args.port)
    except ValueError as e:
        p.error(str(e))
    serve_until_interrupted(
        proxy, lambda: print(json.dumps(proxy.faults()["total"]), file=sys.stderr))


if __name__ == "__main__":
    main()
