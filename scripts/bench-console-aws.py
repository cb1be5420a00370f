#!/usr/bin/env python3
"""The interactive console on AWS, measured on moto server behind a latency proxy: what an
operator near the region waits for and what the console costs while it is open.

Every call the console makes goes through scripts/latencyproxy.py (127.0.0.1, default 10 ms each
way, i.e. 20 ms round trip), which counts the calls by AWS action. The script's own setup and
checks go to moto directly, so they are never counted. In one run:

1. moto is reset and provisioned, N parked payments (default 10,000) are put in etc_parked and
   20 fresh payment attempts in payment_attempt_queue (nothing consumes them).
2. First screen: seconds from launching `crowdfund-console --aws` in a tmux session (160x45)
   until the overview's queue table shows a count for etc_parked (FIRST_SCREEN below).
3. Idle requests per minute on the overview (view 1) and on the DLQ browser (view 2, etc_parked),
   each counted over a window (default 60 s) after a warm-up, by action.
4. Browsing: the console stays open for a browsing period (default 300 s from the first
   screen, windows included) while the views are cycled as a person would (BROWSE_STEPS: 1..7,
   the DLQ list, `:payment_attempt_queue` until its messages are listed, back to `:parked`).
   Then the 20 work messages are received once with their ApproximateReceiveCount, less the 1
   that read adds: the maximum is reported (target 0: looking must not count as a delivery),
   and how many browsing pushed into etc_dlq (SQS dead-letters them after 3 receives).
5. Loading N messages: `crowdfund-console --aws dlq list etc_parked --limit N --json` (ids
   counted) against K boto3 threads (default 8) on the same proxy that receive 10 at a time with
   a 60 s visibility timeout until every message was seen once, then release them all
   (ChangeMessageVisibilityBatch to 0). Target: the console takes at most 1.3x boto3's time.

Build first (release; the script looks in --bin-dir, else $CARGO_TARGET_DIR/release, else
target/release):

    cargo build --release -p crowdfund-console --features aws
    cargo build --release -p crowdfund-handlers --features aws --bin crowdfund-local
    python3 scripts/bench-console-aws.py [--also-size 80x24] [--json] [--save FILE]   # full size
    python3 scripts/bench-console-aws.py --messages 1000 --browse 30 --window 20       # quick

Needs tmux. The moto URL comes from --moto or $CROWDFUND_MOTO_URL; without either, moto is
started with scripts/moto.sh and stopped at the end. It must be a loopback address: the endpoint
is reset. boto3 runs from target/bench/venv, created on first use (see scripts/benchlib.py).
A step that does not finish in its time-out is reported as such ("did not show within N s"),
and the run goes on.

moto's cost per call grows with the queue: at 10,000 messages one ReceiveMessage on etc_parked
takes seconds and filling the queue over ten minutes (the "moto alone" row gives the per-call
cost of the run). Read the figures against that row; --reuse-parked skips the filling when moto
still holds the queue of an earlier run.
"""
import argparse
import collections
import concurrent.futures
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

benchlib.ensure_venv()

from latencyproxy import LatencyProxy  # noqa: E402

PARKED = "etc_parked"
WORK = "payment_attempt_queue"
DLQ = "etc_dlq"
# The overview's queue table has drawn etc_parked's row: its name, then a count. Narrow
# terminals cut the name (80 columns show `etc_par`), so only its start is required.
FIRST_SCREEN = re.compile(r"│etc_par[a-z_]*\s+\d+")
# The DLQ browser on etc_parked, with its message count in the title.
DLQ_SCREEN = re.compile(r"etc_parked — ([\d,]+) (?:of ~[\d,]+ loaded|message)")
# The DLQ browser on the work queue: its count, its messages not read (a read is a receive).
WORK_LISTED = re.compile(r"payment_attempt_queue — ~[\d,]+ messages, not read")
# The status line while the console loads a queue's messages into its index.
LOADING = "loading etc_parked"
# What a person does while the console is open: keys (tmux key names; "text:" is typed
# literally), then, where a pattern is given, waiting until the screen shows it (what they
# came to see), then a look of --dwell seconds. Cycled until the browsing period ends.
BROWSE_STEPS = [
    (["1"], None), (["2"], None), (["j", "j", "j"], None), (["Tab"], None), (["Tab"], None),
    (["PageDown"], None), (["3"], None), (["4"], None), (["5"], None), (["6"], None),
    (["7"], None), ([":", "text:payment_attempt_queue", "Enter"], WORK_LISTED), (["j"], None),
    (["Tab"], None), (["Tab"], None), (["1"], None), (["2"], None),
    ([":", "text:parked", "Enter"], None), (["k"], None), (["1"], None),
]
POLL_SECONDS = 0.02
WORK_MESSAGES = 20
RECEIVE_ATTRIBUTES = ["ApproximateReceiveCount"]
COUNT_ATTRIBUTES = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed"]
REASONS = ["card declined", "insufficient funds", "card expired", "do not honor"]


# ---- the queues ------------------------------------------------------------------------------

def parked_envelope(i):
    """A declined payment as the DLQ handler parks it once its retries are used up."""
    payment_id = f"pay-{i:06d}"
    reason = REASONS[i % len(REASONS)]
    return json.dumps({
        "kind": "payment_attempt", "from": WORK, "attempts": 3, "toDiscord": False,
        "lastError": f"payment {payment_id} was declined: {reason}",
        "payload": {"paymentId": payment_id, "projectId": f"prj-{i % 5 + 1}",
                    "backerEmail": f"backer{i}@example.com", "amount": 10000 + 1000 * (i % 50),
                    "currency": "KRW", "card": "tok_decline"},
    })


def work_envelope(i):
    """A fresh payment attempt, as the broker publishes it."""
    payment_id = f"pay-work-{i:03d}"
    return json.dumps({
        "kind": "payment_attempt", "from": WORK, "attempts": 0, "toDiscord": False,
        "payload": {"paymentId": payment_id, "projectId": "prj-1",
                    "backerEmail": f"work{i}@example.com", "amount": 50000, "currency": "KRW",
                    "card": "tok_approve"},
    })


def queue_counts(sqs, url):
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=COUNT_ATTRIBUTES)["Attributes"]
    return tuple(int(a.get(k, 0)) for k in COUNT_ATTRIBUTES)


def wait_visible(sqs, url, n, timeout):
    """Waits until `n` messages are visible and none in flight; seconds waited, or None."""
    started = time.monotonic()
    while True:
        visible, in_flight, _ = queue_counts(sqs, url)
        if visible >= n and in_flight == 0:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            print(f"  {n} messages were not all visible after {timeout:.0f} s "
                  f"(visible {visible}, in flight {in_flight})", file=sys.stderr)
            return None
        time.sleep(0.5)


def prepare(args, local, moto, sqs):
    """Reset, provision, fill. With --reuse-parked, a moto that already holds exactly N messages
    in etc_parked (from an earlier run) keeps them: moto's cost per message sent grows with the
    queue, so filling 10,000 takes it over ten minutes. The other queues are emptied and the work
    messages sent anew either way."""
    t0 = time.monotonic()
    reused = False
    if args.reuse_parked:
        try:
            parked = sqs.get_queue_url(QueueName=PARKED)["QueueUrl"]
            reused = wait_visible(sqs, parked, args.messages, args.visible_timeout) is not None \
                and queue_counts(sqs, parked) == (args.messages, 0, 0)
        except sqs.exceptions.QueueDoesNotExist:
            reused = False
        if not reused:
            print("etc_parked does not hold exactly the messages asked for: starting afresh",
                  file=sys.stderr)
    if not reused:
        benchlib.reset(moto)
        benchlib.provision(local, moto)
    parked = sqs.get_queue_url(QueueName=PARKED)["QueueUrl"]
    work = sqs.get_queue_url(QueueName=WORK)["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName=DLQ)["QueueUrl"]
    if reused:
        for url in (work, dlq):
            sqs.purge_queue(QueueUrl=url)
    else:
        benchlib.send_all(sqs, parked, [parked_envelope(i) for i in range(args.messages)])
    benchlib.send_all(sqs, work, [work_envelope(i) for i in range(WORK_MESSAGES)])
    print(f"{'kept' if reused else 'reset, provisioned,'} {args.messages} parked and "
          f"{WORK_MESSAGES} work messages in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return parked, work, dlq, reused


def moto_reference(sqs, url, repeat=3):
    """Median seconds of a GetQueueAttributes and of a ReceiveMessage(10) (visibility 0, so
    nothing is hidden) on etc_parked, straight to moto: what moto alone costs per call on a
    queue of this size, against which the console's figures can be read."""
    def timed(call):
        times = []
        for _ in range(repeat):
            t0 = time.monotonic()
            call()
            times.append(time.monotonic() - t0)
        return benchlib.median(times)
    return {
        "getQueueAttributes": timed(lambda: queue_counts(sqs, url)),
        "receiveMessage": timed(lambda: sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)),
    }


# ---- the console in tmux ---------------------------------------------------------------------

class Console:
    """`crowdfund-console --aws` in a detached tmux session of a private tmux server."""

    def __init__(self, directory, console, endpoint, size, refresh=None):
        self.dir = directory
        self.socket = os.path.join(directory, "tmux.sock")
        self.stderr = os.path.join(directory, "console.stderr")
        self.session = "bench"
        cols, rows = size
        cmd = [console, "--state", os.path.join(directory, "world.json"), "--aws",
               "--endpoint-url", endpoint]
        if refresh:
            cmd += ["--refresh", refresh]
        shell = " ".join(shlex.quote(c) for c in cmd) + f" 2>{shlex.quote(self.stderr)}"
        self.launched = time.monotonic()
        self._tmux("new-session", "-d", "-s", self.session, "-x", str(cols), "-y", str(rows),
                   shell, check=True)

    def _tmux(self, *args, check=False):
        return subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True,
                              check=check, timeout=30, env=benchlib.credentials_env())

    def screen(self):
        return self._tmux("capture-pane", "-p", "-t", self.session).stdout

    def alive(self):
        return self._tmux("has-session", "-t", self.session).returncode == 0

    def keys(self, keys):
        for k in keys:
            if k.startswith("text:"):
                self._tmux("send-keys", "-t", self.session, "-l", k[len("text:"):])
            else:
                self._tmux("send-keys", "-t", self.session, k)

    def wait_for(self, pattern, timeout):
        """(seconds since launch, screen) once `pattern` is on the screen; (None, last screen,
        why) when it was not within `timeout` seconds or the console exited."""
        started = time.monotonic()
        while True:
            s = self.screen()
            if pattern.search(s):
                return time.monotonic() - self.launched, s, None
            if not self.alive():
                return None, s, f"the console exited: {self.stderr_text()[-500:]}"
            if time.monotonic() - started > timeout:
                return None, s, f"did not show within {timeout:.0f} s"
            time.sleep(POLL_SECONDS)

    def stderr_text(self):
        try:
            with open(self.stderr, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def quit(self, timeout=30):
        """q from the overview; the tmux server is killed whatever happens."""
        if self.alive():
            self.keys(["Escape", "1", "q"])
            deadline = time.monotonic() + timeout
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.2)
        self._tmux("kill-server")


def window(proxy, seconds):
    """Requests through the proxy over the next `seconds`: (per minute, per minute by action)."""
    t0 = time.monotonic()
    time.sleep(seconds)
    t1 = time.monotonic()
    counts = proxy.counts(t0, t1)
    minutes = (t1 - t0) / 60
    return (sum(counts.values()) / minutes,
            {a: round(n / minutes, 1) for a, n in counts.most_common()})


def first_screen(args, console_bin, proxy, size, sqs, parked, tmp, name):
    """Launches a console and waits for its first screen; returns (Console, result)."""
    wait_visible(sqs, parked, args.messages, args.visible_timeout)
    d = os.path.join(tmp, name)
    os.makedirs(d)
    c = Console(d, console_bin, proxy.url, size, args.refresh)
    seconds, screen, why = c.wait_for(FIRST_SCREEN, args.first_screen_timeout)
    until = c.launched + seconds if seconds is not None else None
    result = {"size": f"{size[0]}x{size[1]}", "seconds": seconds, "note": why,
              "requests": dict(proxy.counts(c.launched, until).most_common()), "screen": screen}
    shown = f"{seconds:.2f} s" if seconds is not None else why
    print(f"first screen at {size[0]}x{size[1]}: {shown}", file=sys.stderr)
    return c, result


def browse(c, until, dwell, patience):
    """Cycles BROWSE_STEPS until `until` (time.monotonic()), at least once: keys sent, steps,
    and the waits for a screen that ran out."""
    sent, n, missed = 0, 0, []
    while n < len(BROWSE_STEPS) or time.monotonic() < until:
        keys, pattern = BROWSE_STEPS[n % len(BROWSE_STEPS)]
        c.keys(keys)
        sent += len(keys)
        n += 1
        if pattern is not None:
            seconds, _, why = c.wait_for(pattern, patience)
            if seconds is None:
                missed.append(f"{pattern.pattern}: {why}")
                if not c.alive():
                    break
        time.sleep(dwell)
    return sent, n, missed


# ---- receive counts after browsing -----------------------------------------------------------

def receive_all(sqs, url, visibility, want=None, attributes=False):
    """Receives until empty (or `want` unique messages): {message id: message}."""
    seen = {}
    while want is None or len(seen) < want:
        kwargs = {"QueueUrl": url, "MaxNumberOfMessages": 10, "VisibilityTimeout": visibility}
        if attributes:
            kwargs["MessageSystemAttributeNames"] = RECEIVE_ATTRIBUTES
        got = sqs.receive_message(**kwargs).get("Messages", [])
        if not got:
            break
        for m in got:
            seen.setdefault(m["MessageId"], m)
    return seen


def release(sqs, url, messages):
    for i in range(0, len(messages), 10):
        batch = messages[i:i + 10]
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for n, m in enumerate(batch)])


def receive_counts(args, sqs, work, dlq):
    """Max ApproximateReceiveCount of the work messages, less this read's own receive."""
    # A console stopped in the middle of a peek leaves its messages hidden for a while.
    deadline = time.monotonic() + args.visible_timeout
    while queue_counts(sqs, work)[1] and time.monotonic() < deadline:
        time.sleep(0.5)
    in_dlq_before = sum(queue_counts(sqs, dlq)[:2])
    seen = receive_all(sqs, work, 60, attributes=True)
    in_dlq_after = sum(queue_counts(sqs, dlq)[:2])
    release(sqs, work, list(seen.values()))
    counts = sorted(int(m["Attributes"]["ApproximateReceiveCount"]) - 1 for m in seen.values())
    # moto dead-letters a message at the receive after its 3rd: this read moved those.
    moved_by_read = in_dlq_after - in_dlq_before
    return {
        "workMessages": WORK_MESSAGES,
        "stillInWorkQueue": len(seen),
        "maxReceiveCount": max(counts) if counts else None,
        "receiveCounts": dict(collections.Counter(counts)),
        "deadLetteredWhileBrowsing": in_dlq_before,
        "deadLetteredByThisRead": moved_by_read,
    }


# ---- loading N messages ----------------------------------------------------------------------

def console_list(args, console_bin, endpoint, tmp):
    cmd = [console_bin, "--state", os.path.join(tmp, "list", "world.json"), "--aws",
           "--endpoint-url", endpoint, "dlq", "list", PARKED, "--limit", str(args.messages),
           "--no-ledger", "--json"]
    os.makedirs(os.path.join(tmp, "list"), exist_ok=True)
    started = time.monotonic()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=benchlib.credentials_env(),
                             timeout=args.load_timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "ids": None,
                "note": f"did not finish within {args.load_timeout:.0f} s"}
    seconds = time.monotonic() - started
    if out.returncode != 0:
        return {"seconds": seconds, "ids": None,
                "note": f"exit {out.returncode}: {out.stderr.strip()[-300:]}"}
    try:
        listed = json.loads(out.stdout)
        ids = {m["messageId"] for m in listed}
    except (ValueError, KeyError, TypeError) as e:
        return {"seconds": seconds, "ids": None, "note": f"unreadable output: {e}"}
    note = None if len(ids) == args.messages else f"listed {len(ids)} of {args.messages}"
    return {"seconds": seconds, "elapsed": seconds, "ids": len(ids), "listed": len(listed),
            "note": note}


def boto3_load(args, endpoint, parked_name, total):
    """K threads receive until every message was seen once (or --load-timeout ran out), then
    release what they hold."""
    lock = threading.Lock()
    seen = set()
    calls = collections.Counter()
    started = time.monotonic()
    deadline = started + args.load_timeout

    def worker(_):
        sqs = benchlib.client("sqs", endpoint)
        url = sqs.get_queue_url(QueueName=parked_name)["QueueUrl"]
        mine = []
        while time.monotonic() < deadline:
            with lock:
                if len(seen) >= total:
                    break
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                      MessageSystemAttributeNames=["All"],
                                      MessageAttributeNames=["All"]).get("Messages", [])
            with lock:
                calls["receive"] += 1
                if not got:
                    break
                for m in got:
                    seen.add(m["MessageId"])
            mine.extend(got)
        return sqs, url, mine

    with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
        held = list(pool.map(worker, range(args.threads)))
        received = time.monotonic()
        list(pool.map(lambda h: release(h[0], h[1], h[2]), held))
    seconds = time.monotonic() - started
    if len(seen) == total:
        note = None
    elif received >= deadline:
        note = f"did not finish within {args.load_timeout:.0f} s: saw {len(seen)} of {total}"
    else:
        note = f"saw {len(seen)} of {total}"
    return {"seconds": seconds if len(seen) == total else None,
            "elapsed": seconds, "receiveSeconds": received - started, "ids": len(seen),
            "receives": calls["receive"], "note": note}


# ---- output ----------------------------------------------------------------------------------

def fmt(value, unit="s", digits=1):
    return "-" if value is None else f"{value:.{digits}f}{(' ' + unit) if unit else ''}"


def by_action_lines(label, by_action, n=6):
    items = list(by_action.items())
    shown = ", ".join(f"{a} {v:g}" for a, v in items[:n])
    more = f", and {len(items) - n} more" if len(items) > n else ""
    print(f"  {label}: {shown or 'none'}{more}")


def report(r):
    print(f"\ncrowdfund-console --aws on moto ({r['moto']}) behind a "
          f"{r['delayMs'] * 2:g} ms round-trip proxy; {r['messages']} parked, "
          f"{WORK_MESSAGES} work messages")
    rows = []
    for fs in r["firstScreen"]:
        rows.append((f"first screen, {fs['size']}", fmt(fs["seconds"]), "",
                     fs["note"] or f"{sum(fs['requests'].values())} requests before it"))
    for key, label in (("overview", "requests/min, overview (1)"),
                       ("dlq", "requests/min, DLQ view (2)")):
        w = r["idle"].get(key)
        rows.append((label, "-", "", "not measured") if w is None else
                    (label, fmt(w["perMinute"], "", 0), "", w.get("note") or ""))
    rc = r.get("receiveCount")
    if rc:
        rows.append(("receive count after browsing, max",
                     "-" if rc["maxReceiveCount"] is None else str(rc["maxReceiveCount"]), "0",
                     f"{rc['stillInWorkQueue']} of {rc['workMessages']} left in {WORK}, "
                     f"{rc['deadLetteredWhileBrowsing']} dead-lettered while browsing, "
                     f"{rc['deadLetteredByThisRead']} by the read"))
    load = r["load"]
    for key, label in (("console", "load: console dlq list --limit N"),
                       ("boto3", f"load: boto3, {r['threads']} threads")):
        x = load.get(key)
        if x:
            ids = "-" if x["ids"] is None else f"{x['ids']} of {r['messages']} ids"
            note = x.get("note") or ids
            if x["seconds"] is None and x.get("elapsed") is not None:
                note += f", stopped after {x['elapsed']:.0f} s"
            rows.append((label, fmt(x["seconds"], "s", 2), "", note))
    if load:
        raw = load.get("rawRatio")
        rows.append(("load: console / boto3", fmt(load.get("ratio"), "x", 2), "<= 1.3x",
                     "" if load.get("complete") else "not both complete" +
                     (f" (times alone: {raw:.2f}x)" if raw else "")))
    ref = r.get("motoAlone")
    if ref:
        rows.append(("moto alone: GetQueueAttributes / ReceiveMessage",
                     f"{ref['getQueueAttributes']:.2f} / {ref['receiveMessage']:.2f} s", "",
                     "one call on etc_parked, no proxy (median of 3)"))
    benchlib.table(("measure", "figure", "target", "note"), rows)
    print("requests per minute by action:")
    for key in ("overview", "dlq"):
        if key in r["idle"]:
            by_action_lines(key, r["idle"][key]["byAction"])
    print("requests by action:")
    for fs in r["firstScreen"]:
        by_action_lines(f"until the first screen at {fs['size']}", fs["requests"])
    for key in ("console", "boto3"):
        if key in load:
            by_action_lines(f"load, {key}", load[key]["requests"])
    if "browse" in r:
        b = r["browse"]
        print(f"browsing: {b['seconds']:.0f} s from the first screen, {b['keys']} keys in "
              f"{b['steps']} steps{'; ' + '; '.join(b['missed']) if b['missed'] else ''}")
    print(f"whole run {r['runSeconds']:.0f} s")
    print(r["loadNote"])


def parse_size(text):
    m = re.fullmatch(r"(\d+)x(\d+)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"{text}: expected COLSxROWS, e.g. 160x45")
    return int(m.group(1)), int(m.group(2))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--moto", help="moto URL (default: $CROWDFUND_MOTO_URL, else start one)")
    p.add_argument("--bin-dir", help="where crowdfund-console and crowdfund-local are "
                   "(default: $CARGO_TARGET_DIR/release, else target/release)")
    p.add_argument("--messages", type=int, default=10_000, help="parked messages (10,000)")
    p.add_argument("--delay-ms", type=float, default=10.0, help="proxy delay each way (10)")
    p.add_argument("--size", type=parse_size, default=(160, 45), help="terminal (160x45)")
    p.add_argument("--also-size", type=parse_size, action="append", default=[],
                   help="another terminal size to time the first screen at, e.g. 80x24")
    p.add_argument("--refresh", help="pass --refresh to the console (default: its own)")
    p.add_argument("--first-screen-timeout", type=float, default=600.0,
                   help="how long to wait for a screen (600 s)")
    p.add_argument("--settle", type=float, default=10.0,
                   help="warm-up in a view before its window is counted (10 s)")
    p.add_argument("--window", type=float, default=60.0, help="counting window (60 s)")
    p.add_argument("--browse", type=float, default=300.0,
                   help="browsing period from the first screen, windows included (300 s)")
    p.add_argument("--dwell", type=float, default=3.0, help="seconds per browsing step (3)")
    p.add_argument("--threads", type=int, default=8, help="boto3 receive threads (8)")
    p.add_argument("--load-timeout", type=float, default=900.0,
                   help="limit on each of step 5's loads (900 s)")
    p.add_argument("--visible-timeout", type=float, default=120.0,
                   help="how long to wait for messages to be visible again (120 s)")
    p.add_argument("--skip-load", action="store_true", help="leave out step 5")
    p.add_argument("--reuse-parked", action="store_true",
                   help="keep etc_parked when it already holds exactly --messages messages "
                   "(moto takes over ten minutes to fill 10,000)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--save", help="also write the figures as JSON to this file")
    args = p.parse_args()
    if args.messages < 1 or args.threads < 1 or args.window <= 0:
        sys.exit("--messages, --threads and --window must be positive")
    subprocess.run(["tmux", "-V"], check=True, capture_output=True)

    bin_dir = args.bin_dir or os.path.join(
        os.environ.get("CARGO_TARGET_DIR") or os.path.join(benchlib.ROOT, "target"), "release")
    console_bin = benchlib.binary("crowdfund-console", os.path.join(bin_dir, "crowdfund-console"))
    local = benchlib.binary("crowdfund-local", os.path.join(bin_dir, "crowdfund-local"))
    if not console_bin or not local:
        sys.exit(f"crowdfund-console or crowdfund-local is not in {bin_dir}; "
                 "see the build commands at the top of this script")

    run_started = time.monotonic()
    moto = benchlib.moto_endpoint(args.moto)
    sqs = benchlib.client("sqs", moto)
    parked, work, dlq, reused = prepare(args, local, moto, sqs)
    proxy = LatencyProxy(moto, delay=args.delay_ms / 1000)
    endpoint = proxy.start()
    r = {"moto": moto, "proxy": endpoint, "delayMs": args.delay_ms, "messages": args.messages,
         "threads": args.threads, "reusedParked": reused, "firstScreen": [], "idle": {},
         "load": {}}

    r["motoAlone"] = moto_reference(sqs, parked)

    def save():
        """The figures so far (so that an interrupted run keeps what it measured)."""
        if args.save:
            r["runSeconds"] = time.monotonic() - run_started
            with open(args.save, "w", encoding="utf-8") as f:
                json.dump(r, f, indent=1, ensure_ascii=False)
    c = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-console-aws-") as tmp:
            # 2. First screen.
            c, fs = first_screen(args, console_bin, proxy, args.size, sqs, parked, tmp, "main")
            r["firstScreen"].append(fs)
            save()
            # Browsing starts once there is something to look at.
            browse_from = time.monotonic()
            browse_until = browse_from + args.browse

            # The index of etc_parked loads in the background: idle starts once it is in.
            loaded_at = None
            deadline = time.monotonic() + args.load_timeout
            while time.monotonic() < deadline:
                if LOADING not in c.screen():
                    loaded_at = time.monotonic() - c.launched
                    break
                time.sleep(0.2)
            r["tuiLoad"] = {"seconds": loaded_at,
                            "requests": dict(proxy.counts(c.launched).most_common())}
            print(f"console index of {PARKED} loaded after {loaded_at} s", file=sys.stderr)
            # 3. Idle requests on the overview, then on the DLQ browser.
            time.sleep(args.settle)
            per_min, by_action = window(proxy, args.window)
            r["idle"]["overview"] = {"perMinute": per_min, "byAction": by_action,
                                     "note": None if fs["seconds"] is not None
                                     else "before the first screen showed"}
            print(f"overview: {per_min:.0f} requests/min", file=sys.stderr)
            save()
            c.keys(["2"])
            seconds, screen, why = c.wait_for(DLQ_SCREEN, args.first_screen_timeout)
            shown = DLQ_SCREEN.search(screen)
            time.sleep(args.settle)
            per_min, by_action = window(proxy, args.window)
            r["idle"]["dlq"] = {
                "perMinute": per_min, "byAction": by_action,
                "listed": int(shown.group(1).replace(",", "")) if shown else None,
                "note": why or (f"lists {shown.group(1)}" if shown else None), "screen": screen}
            print(f"DLQ view: {per_min:.0f} requests/min", file=sys.stderr)
            save()

            # 4. Browsing, then the work messages' receive counts.
            t0 = time.monotonic()
            keys, steps, missed = browse(c, browse_until, args.dwell, args.first_screen_timeout)
            r["browse"] = {"seconds": time.monotonic() - browse_from, "keys": keys,
                           "steps": steps, "missed": missed,
                           "requests": dict(proxy.counts(c.launched).most_common())}
            c.quit()
            c = None
            r["receiveCount"] = receive_counts(args, sqs, work, dlq)
            print(f"browsed {time.monotonic() - t0:.0f} s more; receive counts "
                  f"{r['receiveCount']['receiveCounts']}", file=sys.stderr)
            save()

            for size in args.also_size:
                c, fs = first_screen(args, console_bin, proxy, size, sqs, parked, tmp,
                                     f"{size[0]}x{size[1]}")
                r["firstScreen"].append(fs)
                c.quit()
                c = None
                save()

            # 5. Loading N messages: the console's list, then boto3 threads.
            if not args.skip_load:
                wait_visible(sqs, parked, args.messages, args.visible_timeout)
                t = time.monotonic()
                r["load"]["console"] = console_list(args, console_bin, endpoint, tmp)
                r["load"]["console"]["requests"] = dict(proxy.counts(t).most_common())
                print(f"console dlq list: {r['load']['console']}", file=sys.stderr)
                save()
                wait_visible(sqs, parked, args.messages, args.visible_timeout)
                t = time.monotonic()
                r["load"]["boto3"] = boto3_load(args, endpoint, PARKED, args.messages)
                r["load"]["boto3"]["requests"] = dict(proxy.counts(t).most_common())
                print(f"boto3 load: {r['load']['boto3']}", file=sys.stderr)
                wait_visible(sqs, parked, args.messages, args.visible_timeout)
                a, b = r["load"]["console"], r["load"]["boto3"]
                complete = a["ids"] == args.messages and b["ids"] == args.messages
                # A ratio of an incomplete load would flatter it: kept apart, not reported.
                r["load"]["rawRatio"] = (a["seconds"] / b["seconds"]
                                         if a["seconds"] and b["seconds"] else None)
                r["load"]["ratio"] = r["load"]["rawRatio"] if complete else None
                r["load"]["complete"] = complete
    finally:
        if c is not None:
            c.quit()
        proxy.stop()
    r["proxyErrors"] = proxy.errors
    r["runSeconds"] = time.monotonic() - run_started
    r["loadNote"] = benchlib.load_note()
    if args.save:
        with open(args.save, "w", encoding="utf-8") as f:
            json.dump(r, f, indent=1, ensure_ascii=False)
    if args.json:
        print(json.dumps(r, indent=1, ensure_ascii=False))
    else:
        report(r)
        for fs in r["firstScreen"]:
            print(f"\nfirst screen at {fs['size']} ({fmt(fs['seconds'])}):")
            print(fs["screen"].rstrip())


if __name__ == "__main__":
    main()
