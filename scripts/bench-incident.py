#!/usr/bin/env python3
"""An incident at scale, on moto: thousands of parked messages that failed for a few reasons,
grouped by cause and one cause redriven without the payments the ledger says are done.

In one run:

1. A moto server of its own is started (see FAST CLOCK below), the topology provisioned with
   `crowdfund-local provision --lambda-functions`, and N messages (default 10,000) parked in
   etc_parked in 4 causes, plus a 1% share whose body is not JSON. A share (default 20%) of the
   payments of the cause to redrive are put in the ledger as approved: done, so a redrive of
   them would change nothing.
2. `crowdfund-console --aws dlq groups etc_parked --json`: seconds, and the groups found, checked
   against what was parked (5 groups, counts exact).
3. `crowdfund-console --aws dlq redrive etc_parked --reason CAUSE --skip-done --yes --json`:
   seconds, and checked: it moved exactly the cause's messages that are not done, into
   payment_attempt_queue, and etc_parked keeps the rest.

FAST CLOCK: moto reads the wall clock through datetime conversions for every message of a queue
on every ReceiveMessage and SendMessage (about 6 µs a message, some 30 passes a call), so its cost
per call grows with the queue: at 10,000 messages one ReceiveMessage takes seconds and the run
over an hour. This script starts moto with `moto.core.utils.unix_time` answering `time.time()`
when asked for now (the same value, without the conversions). moto's behaviour is otherwise
unchanged. The "moto alone" row gives the per-call cost of the run; --plain-moto starts it
unpatched.

    cargo build --release -p crowdfund-console --features aws
    cargo build --release -p crowdfund-handlers --features aws --bin crowdfund-local
    python3 scripts/bench-incident.py                      # 10,000 messages
    python3 scripts/bench-incident.py --messages 1000      # quick

boto3 runs from target/bench/venv (scripts/benchlib.py); moto from target/moto/venv
(scripts/moto.sh installs it).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

PARKED = "etc_parked"
WORK = "payment_attempt_queue"
MOTO_PYTHON = os.path.join(benchlib.ROOT, "target", "moto", "venv", "bin", "python")
FAST_CLOCK = """
import time, moto.core.utils as u
slow = u.unix_time
u.unix_time = lambda dt=None: time.time() if dt is None else slow(dt)
"""
# The four causes: (kind, from, lastError of message i). Ids, amounts, times and addresses in
# them differ from message to message; `dlq groups` must see through that.
CAUSES = [
    ("payment_attempt", "payment_attempt_queue",
     lambda i: f"payment pay-{i:06d} was declined: card declined"),
    ("payment_attempt", "payment_attempt_queue",
     lambda i: f"gateway timed out after {30000 + i % 7} ms charging pay-{i:06d}"),
    ("approve_payment", "approve_payment_queue",
     lambda i: f"funding API answered HTTP 503 for prj-{i % 5 + 1} payment pay-{i:06d}"),
    ("send_email", "send_email_queue",
     lambda i: f"SES throttled sending to backer{i}@example.com: Maximum sending rate exceeded"),
]
# The cause redriven: the gateway time-outs (transient, so a redrive is the fix).
REDRIVE_CAUSE = 1


def body(i, cause):
    kind, source, error = CAUSES[cause]
    return json.dumps({
        "kind": kind, "from": source, "attempts": 3, "toDiscord": False,
        "lastError": error(i),
        "payload": {"paymentId": f"pay-{i:06d}", "projectId": f"prj-{i % 5 + 1}",
                    "backerEmail": f"backer{i}@example.com", "amount": 10000 + 1000 * (i % 50),
                    "currency": "KRW", "card": "tok_approve"},
    })


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_moto(plain, log):
    if not os.path.exists(MOTO_PYTHON):
        subprocess.run([os.path.join(benchlib.ROOT, "scripts", "moto.sh"), "start"], check=True,
                       stdout=subprocess.DEVNULL, timeout=benchlib.MOTO_START_TIMEOUT_SECONDS)
        subprocess.run([os.path.join(benchlib.ROOT, "scripts", "moto.sh"), "stop"], check=False)
    port = free_port()
    code = ("" if plain else FAST_CLOCK) + (
        "from moto.server import main\n"
        f"main(['-H', '127.0.0.1', '-p', '{port}'])\n")
    server = subprocess.Popen([MOTO_PYTHON, "-c", code], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=2):
                return server, url
        except OSError:
            time.sleep(0.5)
    server.kill()
    sys.exit(f"moto did not answer on {url}; see {log.name}")


def approved_item(i):
    """A payment the ledger holds as approved (done): as crowdfund's DynamoDB adapter writes it."""
    return {"paymentId": {"S": f"pay-{i:06d}"}, "projectId": {"S": f"prj-{i % 5 + 1}"},
            "backerEmail": {"S": f"backer{i}@example.com"},
            "amount": {"N": str(10000 + 1000 * (i % 50))}, "currency": {"S": "KRW"},
            "status": {"S": "approved"}, "paidAt": {"S": "2026-11-30T12:00:00.000Z"},
            "chargeId": {"S": f"ch-{i:06d}"}}


def seed(args, sqs, dynamodb):
    """Parks N messages (4 causes round-robin, every 100th unreadable); returns what was
    parked per cause and the ids put in the ledger as done."""
    bodies, parked = [], {c: [] for c in range(len(CAUSES))}
    unreadable = 0
    for i in range(args.messages):
        if i % 100 == 99:
            bodies.append(f"not json: truncated body #{i}")
            unreadable += 1
            continue
        cause = i % len(CAUSES)
        parked[cause].append(i)
        bodies.append(body(i, cause))
    url = sqs.get_queue_url(QueueName=PARKED)["QueueUrl"]
    benchlib.send_all(sqs, url, bodies)
    candidates = parked[REDRIVE_CAUSE]
    done = candidates[::max(1, round(1 / args.done_share))] if args.done_share > 0 else []
    for start in range(0, len(done), 25):
        dynamodb.batch_write_item(RequestItems={"payments": [
            {"PutRequest": {"Item": approved_item(i)}} for i in done[start:start + 25]]})
    return parked, unreadable, done


def run_console(console, moto, state, args, timeout):
    env = benchlib.credentials_env()
    started = time.monotonic()
    out = subprocess.run([console, "--aws", "--endpoint-url", moto, "--state", state, *args],
                         capture_output=True, text=True, env=env, timeout=timeout)
    seconds = time.monotonic() - started
    if out.returncode != 0:
        sys.exit(f"crowdfund-console {' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return seconds, json.loads(out.stdout)


def moto_receive_seconds(sqs, url, repeat=3):
    """Median seconds of one ReceiveMessage(10) on etc_parked (visibility 0: nothing hidden)."""
    times = []
    for _ in range(repeat):
        t = time.monotonic()
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        times.append(time.monotonic() - t)
    return benchlib.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=10_000, help="parked messages (10,000)")
    p.add_argument("--done-share", type=float, default=0.2,
                   help="share of the redriven cause's payments the ledger holds as done (0.2)")
    p.add_argument("--plain-moto", action="store_true", help="start moto without FAST CLOCK")
    p.add_argument("--timeout", type=float, default=3600, help="per console command (3600 s)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args()
    benchlib.ensure_venv()
    console = benchlib.binary("crowdfund-console")
    local = benchlib.binary("crowdfund-local")
    if not console or not local:
        sys.exit("build crowdfund-console (--features aws) and crowdfund-local first; see --help")
    tmp = tempfile.mkdtemp(prefix="bench-incident-")
    with open(os.path.join(tmp, "moto.log"), "w", encoding="utf-8") as log:
        server, moto = start_moto(args.plain_moto, log)
        try:
            figures = measure(args, console, local, moto, tmp)
        finally:
            server.terminate()
            server.wait(timeout=30)
    figures["load"] = benchlib.load_note()
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    benchlib.table(["measure", "value"], [
        ("parked messages", f"{args.messages:,} ({figures['unreadable']} unreadable)"),
        ("moto alone: one ReceiveMessage(10) on etc_parked", f"{figures['motoReceive']:.3f} s"),
        ("filling etc_parked", f"{figures['fillSeconds']:.0f} s"),
        ("dlq groups etc_parked", f"{figures['groupsSeconds']:.1f} s"),
        ("groups (count)", ", ".join(f"{g['count']}" for g in figures["groups"])),
        ("dlq redrive --reason … --skip-done", f"{figures['redriveSeconds']:.1f} s"),
        ("moved / expected", f"{figures['moved']} / {figures['expectedMoved']}"),
        ("left in etc_parked / expected",
         f"{figures['leftParked']} / {figures['expectedLeft']}"),
    ])
    print(figures["load"])


def measure(args, console, local, moto, tmp):
    subprocess.run([local, "provision", "--lambda-functions", "--endpoint-url", moto],
                   check=True, stdout=subprocess.DEVNULL, env=benchlib.credentials_env(),
                   timeout=benchlib.COMMAND_TIMEOUT_SECONDS)
    sqs, dynamodb = benchlib.client("sqs", moto), benchlib.client("dynamodb", moto)
    t = time.monotonic()
    parked, unreadable, done = seed(args, sqs, dynamodb)
    fill = time.monotonic() - t
    parked_url = sqs.get_queue_url(QueueName=PARKED)["QueueUrl"]
    receive = moto_receive_seconds(sqs, parked_url)
    print(f"parked {args.messages} in {fill:.0f} s; moto answers a receive in {receive:.2f} s",
          file=sys.stderr)
    state = os.path.join(tmp, "world.json")
    limit = str(args.messages + 100)
    groups_seconds, report = run_console(
        console, moto, state, ["dlq", "groups", PARKED, "--limit", limit, "--json"], args.timeout)
    groups = report["groups"]
    expected = sorted([len(v) for v in parked.values()] + [unreadable], reverse=True)
    found = sorted((g["count"] for g in groups), reverse=True)
    if found != expected:
        sys.exit(f"dlq groups found {found}, parked {expected}: {json.dumps(groups)[:2000]}")
    cause = next(g["cause"] for g in groups if "gateway timed out" in g["cause"])
    redrive_seconds, report = run_console(
        console, moto, state,
        ["dlq", "redrive", PARKED, "--reason", cause, "--skip-done", "--yes", "--json"],
        args.timeout)
    moved = report["moved"]
    expected_moved = len(parked[REDRIVE_CAUSE]) - len(done)
    work = sqs.get_queue_attributes(
        QueueUrl=sqs.get_queue_url(QueueName=WORK)["QueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    left = sqs.get_queue_attributes(
        QueueUrl=parked_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    left = sum(int(v) for v in left["Attributes"].values())
    if moved != expected_moved or int(work["ApproximateNumberOfMessages"]) != expected_moved:
        sys.exit(f"the redrive moved {moved} (payment_attempt_queue holds "
                 f"{work['ApproximateNumberOfMessages']}); expected {expected_moved}")
    return {
        "messages": args.messages, "unreadable": unreadable, "done": len(done),
        "fillSeconds": fill, "motoReceive": receive,
        "groupsSeconds": groups_seconds,
        "groups": [{"cause": g["cause"], "count": g["count"]} for g in groups],
        "redriveSeconds": redrive_seconds, "moved": moved, "expectedMoved": expected_moved,
        "leftParked": left, "expectedLeft": args.messages - expected_moved,
        "plainMoto": args.plain_moto,
    }


if __name__ == "__main__":
    main()
