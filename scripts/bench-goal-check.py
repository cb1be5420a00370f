#!/usr/bin/env python3
"""Goal-check benchmark on moto server: items DynamoDB reads for one project's late payments,
our Query on the project/time index against a Scan with a filter (how the seed system did it).

Loads --payments payments spread over --projects projects into the `payments` table (as
`crowdfund-local provision` creates it, index `project_paid_at` included) with BatchWriteItem,
25 items a call. Then, for one project and a goal reached half-way through its payments:

- ours: the DynamoLedger adapter's Query, run from Rust (handlers/examples/bench_goal_check.rs),
  once with the goal check's key condition (paidAt > achievedAt) and once for all of the
  project's payments (what `status` reads);
- the seed's way: a Scan of the table with FilterExpression projectId = P AND paidAt > achievedAt.

For each: payments found, items read (ScannedCount summed over the pages), pages, and the median
wall time over --repeat runs. Target: the goal check's Query reads at least 100x fewer items than
the Scan. Both must find the same payments; the run fails if they do not.

    cargo build -p crowdfund-handlers --features aws --bin crowdfund-local --example bench_goal_check
    python3 scripts/bench-goal-check.py [--payments 100000] [--projects 100] [--repeat 3]

(Add --release to the build for release figures; the script prefers target/release.) The moto URL
comes from --moto or $CROWDFUND_MOTO_URL; without either, moto is started with scripts/moto.sh
and stopped at the end. It must be a loopback address: the endpoint is reset before loading.
boto3 runs from target/bench/venv, created on first use (see scripts/benchlib.py).
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

benchlib.ensure_venv()

TABLE = "payments"
BATCH = 25  # BatchWriteItem's limit
MAX_BATCH_ATTEMPTS = 8
START = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)


def paid_at(i):
    """Payment i is made i seconds after START, in the adapter's fixed-width format."""
    t = START + datetime.timedelta(seconds=i)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def project_of(i, projects):
    return f"prj-{i % projects:03d}"


def item(i, projects):
    """A payment item as DynamoLedger writes it (see record_to_item in the adapter)."""
    declined = i % 10 == 9
    it = {
        "paymentId": {"S": f"pay-{i:06d}"},
        "projectId": {"S": project_of(i, projects)},
        "backerEmail": {"S": f"backer-{i}@example.com"},
        "amount": {"N": str(10_000 + (i % 50) * 1_000)},
        "currency": {"S": "KRW"},
        "status": {"S": "declined" if declined else "approved"},
        "paidAt": {"S": paid_at(i)},
    }
    if declined:
        it["declineReason"] = {"S": "card declined"}
    else:
        it["chargeId"] = {"S": f"ch_pay-{i:06d}"}
    return it


def load(moto, payments, projects, workers):
    """BatchWriteItem, 25 a call, over a few threads; unprocessed items are written again."""
    done = [0]
    lock = threading.Lock()
    started = time.perf_counter()

    ddb = benchlib.client("dynamodb", moto)  # boto3 clients are thread-safe

    def write(start):
        requests = [{"PutRequest": {"Item": item(i, projects)}}
                    for i in range(start, min(start + BATCH, payments))]
        for _ in range(MAX_BATCH_ATTEMPTS):
            left = ddb.batch_write_item(RequestItems={TABLE: requests})
            requests = left.get("UnprocessedItems", {}).get(TABLE, [])
            if not requests:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{len(requests)} items still unprocessed after "
                               f"{MAX_BATCH_ATTEMPTS} attempts from payment {start}")
        with lock:
            done[0] += BATCH
            n = min(done[0], payments)
            if n % 5_000 < BATCH or n == payments:
                rate = n / (time.perf_counter() - started)
                print(f"\rloading: {n:,}/{payments:,} payments ({rate:,.0f}/s)", end="",
                      file=sys.stderr, flush=True)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(write, range(0, payments, BATCH)))
    print(f"\nloaded {payments:,} payments in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)


def scan(ddb, project, after):
    """The seed's read: the whole table, filtered to the project's payments after `after`."""
    found = scanned = pages = 0
    kwargs = {"TableName": TABLE,
              "FilterExpression": "#p = :p AND #t > :after",
              "ExpressionAttributeNames": {"#p": "projectId", "#t": "paidAt"},
              "ExpressionAttributeValues": {":p": {"S": project}, ":after": {"S": after}}}
    started = time.perf_counter()
    while True:
        page = ddb.scan(**kwargs)
        pages += 1
        found += page["Count"]
        scanned += page["ScannedCount"]
        if not page.get("LastEvaluatedKey"):
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {"items": found, "scannedCount": scanned, "pages": pages,
            "seconds": time.perf_counter() - started}


def ours(example, moto, project, after, repeat):
    """The adapter's Query, run `repeat` times by the Rust example; one JSON line per run."""
    cmd = [example, "--endpoint-url", moto, "--project", project, "--repeat", str(repeat)]
    if after:
        cmd += ["--after", after]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         timeout=benchlib.COMMAND_TIMEOUT_SECONDS, env=benchlib.credentials_env())
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def summary(runs):
    first = runs[0]
    if any((r["items"], r["scannedCount"]) != (first["items"], first["scannedCount"])
           for r in runs):
        sys.exit(f"runs disagree: {runs}")
    return dict(first, seconds=benchlib.median([r["seconds"] for r in runs]))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--moto", help="moto URL (default: $CROWDFUND_MOTO_URL, else start one)")
    p.add_argument("--payments", type=int, default=100_000)
    p.add_argument("--projects", type=int, default=100)
    p.add_argument("--repeat", type=int, default=3, help="runs of each read (median reported)")
    p.add_argument("--workers", type=int, default=4, help="threads loading the table")
    p.add_argument("--project", type=int, default=42, help="which project to check (index)")
    p.add_argument("--no-load", action="store_true",
                   help="keep the table as a previous run loaded it (no reset, no load)")
    p.add_argument("--local", help="crowdfund-local binary (default: target/release, else debug)")
    p.add_argument("--example", help="bench_goal_check example binary (default: as --local)")
    args = p.parse_args()
    if args.payments < args.projects or args.projects < 1 or not 0 <= args.project < args.projects:
        sys.exit("need --payments >= --projects >= 1 and 0 <= --project < --projects")
    local = benchlib.binary("crowdfund-local", args.local)
    example = benchlib.binary("bench_goal_check", args.example)
    if not local or not example:
        sys.exit("crowdfund-local or the bench_goal_check example is not built; "
                 "see the build command at the top of this script")
    moto = benchlib.moto_endpoint(args.moto)
    if not args.no_load:
        benchlib.reset(moto)
        benchlib.provision(local, moto)
        load(moto, args.payments, args.projects, args.workers)

    project = project_of(args.project, args.projects)
    own = list(range(args.project, args.payments, args.projects))
    # The goal is reached at the project's middle payment: the check cancels the later half.
    achieved_at = paid_at(own[len(own) // 2])
    expected_late = len(own) - len(own) // 2 - 1

    ddb = benchlib.client("dynamodb", moto)
    scanned = summary([scan(ddb, project, achieved_at) for _ in range(args.repeat)])
    goal = summary(ours(example, moto, project, achieved_at, args.repeat))
    whole = summary(ours(example, moto, project, None, args.repeat))
    if not goal["items"] == scanned["items"] == expected_late:
        sys.exit(f"the reads disagree on {project}'s payments after {achieved_at}: query "
                 f"{goal['items']}, scan {scanned['items']}, expected {expected_late}")

    print(f"\ngoal check of {project} at {achieved_at} over {args.payments:,} payments in "
          f"{args.projects} projects, on moto ({moto}); median of {args.repeat} runs")
    rows = []
    for name, r in (("ours: Query, paidAt > achievedAt (goal check)", goal),
                    ("ours: Query, whole project (status)", whole),
                    ("seed: Scan + FilterExpression", scanned)):
        rows.append((name, f"{r['items']:,}", f"{r['scannedCount']:,}", r["pages"],
                     f"{r['seconds']:.3f}",
                     f"{scanned['scannedCount'] / max(r['scannedCount'], 1):,.0f}x",
                     f"{scanned['seconds'] / r['seconds']:,.1f}x" if r["seconds"] else "n/a"))
    benchlib.table(("read", "found", "items read", "pages", "seconds", "fewer read",
                    "faster"), rows)
    print(benchlib.load_note())
    ratio = scanned["scannedCount"] / max(goal["scannedCount"], 1)
    print(f"target: the goal check reads >= 100x fewer items than the Scan: "
          f"{'met' if ratio >= 100 else 'NOT met'} ({ratio:,.0f}x)")


if __name__ == "__main__":
    main()
