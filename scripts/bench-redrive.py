#!/usr/bin/env python3
"""Redrive benchmark on moto server: `crowdfund-console --aws dlq redrive` against a plain
boto3 receive-one/send/delete loop and a batched boto3 loop, on the same number of parked
messages, in one run.

For each method: seconds, messages per second, and AWS API calls per message. Calls are
counted from moto's request log (scripts/moto.sh writes it to target/moto/server.log), the same
way for all three methods.

    export CROWDFUND_MOTO_URL=$(scripts/moto.sh start)
    cargo build --release -p crowdfund-console --features aws
    cargo build --release -p crowdfund-handlers --features aws --bin crowdfund-local
    target/moto/venv/bin/python scripts/bench-redrive.py --messages 1000

boto3 comes with moto in target/moto/venv. The moto state is reset before each method.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

PARKED = "etc_parked"
TARGET = "payment_attempt_queue"


def reset(moto):
    urllib.request.urlopen(urllib.request.Request(moto + "/moto-api/reset", method="POST")).read()


def requests_logged(log):
    try:
        with open(log, encoding="utf-8", errors="replace") as f:
            return sum(1 for line in f if "POST / HTTP" in line)
    except FileNotFoundError:
        return None


def prepare(args, sqs):
    reset(args.moto)
    subprocess.run([args.local, "provision", "--endpoint-url", args.moto], check=True,
                   stdout=subprocess.DEVNULL)
    url = sqs.get_queue_url(QueueName=PARKED)["QueueUrl"]
    for start in range(0, args.messages, 10):
        entries = []
        for i in range(start, min(start + 10, args.messages)):
            body = {"kind": "payment_attempt", "from": TARGET, "attempts": 4, "toDiscord": False,
                    "payload": {"paymentId": f"pay-{i}", "projectId": "prj-1"}}
            entries.append({"Id": str(i - start), "MessageBody": json.dumps(body)})
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    return url, sqs.get_queue_url(QueueName=TARGET)["QueueUrl"]


def plain_loop(sqs, src, dst):
    while True:
        got = sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=1).get("Messages", [])
        if not got:
            return
        m = got[0]
        sqs.send_message(QueueUrl=dst, MessageBody=m["Body"])
        sqs.delete_message(QueueUrl=src, ReceiptHandle=m["ReceiptHandle"])


def batched_loop(sqs, src, dst):
    while True:
        got = sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return
        sent = sqs.send_message_batch(QueueUrl=dst, Entries=[
            {"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(got)])
        ok = {e["Id"] for e in sent.get("Successful", [])}
        handles = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                   for i, m in enumerate(got) if str(i) in ok]
        if handles:
            sqs.delete_message_batch(QueueUrl=src, Entries=handles)


def ours(args, state_dir):
    out = subprocess.run([args.console, "--state", os.path.join(state_dir, "world.json"),
                          "--aws", "--endpoint-url", args.moto, "dlq", "redrive", PARKED,
                          "--all", "--yes", "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["moved"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--moto", default=os.environ.get("CROWDFUND_MOTO_URL"))
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--console", default="target/release/crowdfund-console")
    p.add_argument("--local", default="target/release/crowdfund-local")
    p.add_argument("--log", default="target/moto/server.log")
    args = p.parse_args()
    if not args.moto:
        sys.exit("no moto URL: pass --moto URL or export CROWDFUND_MOTO_URL=$(scripts/moto.sh start)")
    for exe in (args.console, args.local):
        if not os.access(exe, os.X_OK):
            sys.exit(f"{exe} is not built; see the build commands at the top of this script")
    sqs = boto3.client("sqs", endpoint_url=args.moto, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    results = []
    with tempfile.TemporaryDirectory() as state_dir:
        for name in ("boto3 plain loop", "boto3 batched loop", "crowdfund-console --aws"):
            src, dst = prepare(args, sqs)
            before = requests_logged(args.log)
            t0 = time.perf_counter()
            if name.startswith("boto3 plain"):
                plain_loop(sqs, src, dst)
            elif name.startswith("boto3 batched"):
                batched_loop(sqs, src, dst)
            else:
                ours(args, state_dir)
            seconds = time.perf_counter() - t0
            after = requests_logged(args.log)
            moved = int(sqs.get_queue_attributes(QueueUrl=dst, AttributeNames=[
                "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
            calls = None if before is None or after is None else after - before
            results.append((name, moved, seconds, calls))
            print(f"{name}: {moved} moved in {seconds:.2f} s", file=sys.stderr)
    plain_rate = results[0][1] / results[0][2]
    batched_rate = results[1][1] / results[1][2]
    print(f"\nredrive of {args.messages} messages on moto ({args.moto})")
    print(f"{'method':28} {'moved':>6} {'seconds':>8} {'msg/s':>8} {'calls/msg':>9} "
          f"{'x plain':>7} {'x batched':>9}")
    for name, moved, seconds, calls in results:
        rate = moved / seconds if seconds else 0.0
        per = f"{calls / moved:.3f}" if calls is not None and moved else "n/a"
        print(f"{name:28} {moved:6d} {seconds:8.2f} {rate:8.1f} {per:>9} "
              f"{rate / plain_rate:7.2f} {rate / batched_rate:9.2f}")
    print("(calls for crowdfund-console include its start-up: queue URL lookups and counts)")


if __name__ == "__main__":
    main()
