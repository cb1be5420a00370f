#!/usr/bin/env python3
"""Status benchmark on moto server: `crowdfund-console --aws status --json` against a shell loop
of `aws sqs get-queue-attributes` over the same queues, in one run.

Both read the same three counts (visible, in flight, delayed) of every queue the console shows.
Each method runs --repeat times; the table gives the median wall time of one whole pass, process
start-up included for both (that is what an operator waits for), and the console's speed-up.
Target: the console is at least 5x faster than the awscli loop. The loop is given its queue URLs
up front, while the console looks them up itself (GetQueueUrl) inside its time.

A third row, one boto3 client asking the same queues one after another in this process, shows
the share of the loop's time that is AWS calls rather than process start-ups.

    cargo build -p crowdfund-console --features aws
    cargo build -p crowdfund-handlers --features aws --bin crowdfund-local
    python3 scripts/bench-status.py [--repeat 7]

(Add --release to the builds for release figures; the script prefers target/release.) The moto
URL comes from --moto or $CROWDFUND_MOTO_URL; without either, moto is started with
scripts/moto.sh and stopped at the end. It must be a loopback address: the endpoint is reset and
provisioned first. awscli and boto3 run from target/bench/venv, created on first use (see
scripts/benchlib.py).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

benchlib.ensure_venv()

ATTRIBUTES = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
              "ApproximateNumberOfMessagesDelayed"]
# A few messages so the counts are not all zero.
PARKED = "etc_parked"
PARKED_MESSAGES = 3


def counts(attributes):
    return tuple(int(attributes.get(a, 0)) for a in ATTRIBUTES)


def console_status(console, moto, state):
    """One `status --json` run; returns its wall time and the counts it reported, by queue."""
    cmd = [console, "--state", state, "--aws", "--endpoint-url", moto, "status", "--json"]
    started = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         timeout=benchlib.COMMAND_TIMEOUT_SECONDS, env=benchlib.credentials_env())
    seconds = time.perf_counter() - started
    queues = json.loads(out.stdout)["queues"]
    return seconds, {q["name"]: (q["visible"], q["inFlight"], q["delayed"]) for q in queues}


def awscli_loop(moto, urls):
    """`aws sqs get-queue-attributes` once per queue, one after another, as a shell loop does."""
    env = benchlib.credentials_env()
    seen = {}
    started = time.perf_counter()
    for name, url in urls.items():
        out = subprocess.run([benchlib.venv_bin("aws"), "--endpoint-url", moto, "--output", "json",
                              "sqs", "get-queue-attributes", "--queue-url", url,
                              "--attribute-names", *ATTRIBUTES],
                             check=True, capture_output=True, text=True, env=env,
                             timeout=benchlib.COMMAND_TIMEOUT_SECONDS)
        seen[name] = counts(json.loads(out.stdout).get("Attributes", {}))
    return time.perf_counter() - started, seen


def boto3_loop(sqs, urls):
    """The same calls from one boto3 client in this process, one after another."""
    seen = {}
    started = time.perf_counter()
    for name, url in urls.items():
        got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=ATTRIBUTES)
        seen[name] = counts(got.get("Attributes", {}))
    return time.perf_counter() - started, seen


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--moto", help="moto URL (default: $CROWDFUND_MOTO_URL, else start one)")
    p.add_argument("--repeat", type=int, default=7, help="passes of each method (median)")
    p.add_argument("--console", help="crowdfund-console (default: target/release, else debug)")
    p.add_argument("--local", help="crowdfund-local (default: target/release, else debug)")
    args = p.parse_args()
    if args.repeat < 1:
        sys.exit("--repeat must be at least 1")
    console = benchlib.binary("crowdfund-console", args.console)
    local = benchlib.binary("crowdfund-local", args.local)
    if not console or not local:
        sys.exit("crowdfund-console or crowdfund-local is not built; "
                 "see the build commands at the top of this script")
    moto = benchlib.moto_endpoint(args.moto)
    benchlib.reset(moto)
    benchlib.provision(local, moto)
    sqs = benchlib.client("sqs", moto)
    parked = sqs.get_queue_url(QueueName=PARKED)["QueueUrl"]
    for i in range(PARKED_MESSAGES):
        sqs.send_message(QueueUrl=parked, MessageBody=json.dumps({"n": i}))

    with tempfile.TemporaryDirectory() as tmp:
        state = os.path.join(tmp, "world.json")
        # A first run, untimed: the queue names the console reads, and warm caches all round.
        _, reported = console_status(console, moto, state)
        urls = {name: sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in reported}
        awscli_loop(moto, urls)
        runs = {"console": [], "awscli": [], "boto3": []}
        for _ in range(args.repeat):
            for name, run in (("console", lambda: console_status(console, moto, state)),
                              ("awscli", lambda: awscli_loop(moto, urls)),
                              ("boto3", lambda: boto3_loop(sqs, urls))):
                seconds, seen = run()
                if seen != reported:
                    sys.exit(f"{name} read other counts than the console's first run: "
                             f"{seen} vs {reported}")
                runs[name].append(seconds)

    med = {k: benchlib.median(v) for k, v in runs.items()}
    print(f"\nstatus of {len(urls)} queues on moto ({moto}); median of {args.repeat} passes")
    rows = [
        ("crowdfund-console --aws status --json", "1 process", med["console"]),
        ("aws sqs get-queue-attributes loop", f"{len(urls)} processes", med["awscli"]),
        ("boto3 loop in one process (reference)", "0 processes", med["boto3"]),
    ]
    benchlib.table(("method", "start-ups", "seconds", "console faster"),
                   [(n, s, f"{t:.3f}", f"{t / med['console']:.1f}x") for n, s, t in rows])
    print(benchlib.load_note())
    ratio = med["awscli"] / med["console"]
    print(f"target: the console is >= 5x faster than the awscli loop: "
          f"{'met' if ratio >= 5 else 'NOT met'} ({ratio:.1f}x)")


if __name__ == "__main__":
    main()
