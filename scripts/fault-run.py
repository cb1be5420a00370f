#!/usr/bin/env python3
"""A fault run: the whole pipeline on moto through a proxy that resets and delays connections,
then a check that nothing was lost or done twice.

Parts, all on loopback, started and stopped by the script:

- a moto server of its own (FAST_CLOCK, see scripts/benchlib.py), provisioned with
  `crowdfund-local provision` (straight to moto: setup is not under test);
- scripts/faultproxy.py in front of moto: each request's connection is reset with probability
  --reset (half of those after moto answered: the effect happened, the SDK retries it) or its
  answer held --delay-seconds with probability --delay-share; the draws come from --seed;
- crowdfund-api (role funding-rw) on a database of its own in MariaDB (--mysql), with a few
  projects: --projects with goals no run reaches, and (unless --no-goal-project) one whose goal
  is reached part-way, so that a goal check cancels and refunds its later payments;
- --pollers (4) processes of `crowdfund-local run --endpoint-url <proxy> --funding-api-url
  <api>`: the five queue functions and POST /broker, every AWS call through the proxy. One
  process handles one message at a time, so a single one stalls whole for every held answer;
  several stand for Lambda's concurrent executions (and race each other on duplicates).

Then --payments payments (default 2,000) are posted to the brokers in turn as a client would
(retrying connection errors and 5xx), --declines of them with the sandbox's declining card
`tok_decline`,
--duplicates of them posted a second time later (the same body: a duplicate delivery). The
script waits for the drain (work queues and etc_dlq empty, the API's outbox sent; at most
--drain-timeout seconds, progress every few seconds), stops the pipeline and checks, reading
moto, MariaDB and the API directly (not through the proxy). A message a function leaves
for redelivery, or whose receive the proxy reset after moto answered, comes back only after its
queue's visibility timeout (150 s), so the drain has a tail of a few of those:

  drained          the queues emptied within --drain-timeout
  0 lost           every payment the broker accepted is in the ledger or parked in etc_parked
  0 double charges one sandbox charge decision per payment, agreeing with the ledger: no charge
                   without a ledger record, every approved or cancelled payment charged, one
                   refund per cancelled payment and none for another
  0 double mails   at most one mail per payment and template (moto's SES sent messages),
                   but for sends SES made whose answer the proxy then reset (SES has no
                   idempotency key; mail is at-least-once): more doubles than those fail
  receipts         a receipt for every approved (or later cancelled) payment, a refund mail for
                   every cancelled one, no receipt for anything else
  0 double raises  at most one funding per payment at the API, its amount the ledger's, none
                   for a declined payment, and each project's raised the sum of its live fundings
  raised = ledger  each project's raised (GET /projects/{id}) equals the ledger's net: the sum
                   of its approved, not cancelled, payments
  declines parked  every declined payment parked in etc_parked with attempts 0 (no retries)

and prints the figures: payments, ledger states, mails, wall times, and what the faults cost:
the proxy's resets, delays, time-outs (a held answer whose client gave up), the SDK's retries
(from the `amz-sdk-request` header) and the calls whose last attempt was faulted (the SDK gave
up: the error reached the handler), by action; the pipeline's own retries come from
crowdfund-local's log (messages a function failed and left for SQS to redeliver) and its
MessagesFailed metric in CloudWatch. It exits 1 naming each failed check and its first ids.

    cargo build --release -p crowdfund-handlers --features aws --bin crowdfund-local
    cargo build --release -p crowdfund-api --bin crowdfund-api
    python3 scripts/fault-run.py --payments 200          # a few minutes
    python3 scripts/fault-run.py                         # 2,000 payments

Needs MariaDB or MySQL (--mysql, default mysql://root@127.0.0.1:3306; the `mysql` client on
PATH); the database it creates is dropped at the end unless --keep. boto3 runs from
target/bench/venv, moto from target/moto/venv (scripts/benchlib.py, scripts/moto.sh).
"""
import argparse
import collections
import concurrent.futures
import datetime
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from faultproxy import FaultProxy, add_fault_arguments, fraction  # noqa: E402

WORK_QUEUES = ["payment_attempt_queue", "send_email_queue", "approve_payment_queue",
               "goal_achievement_queue"]
DLQ, PARKED = "etc_dlq", "etc_parked"
TABLE = "payments"
CARD_APPROVE, CARD_DECLINE = "tok_approve", "tok_decline"
# A payment's amount: 10,000 to 100,000 KRW in steps of 1,000 (as the local world's traffic).
AMOUNTS = range(10_000, 100_001, 1_000)
# The goal project's goal: this share of what its approved payments add up to.
GOAL_SHARE = 0.4
# The client's retries of one broker post (connection errors, 5xx), and its time-out.
BROKER_ATTEMPTS = 6
BROKER_TIMEOUT_SECONDS = 30
PROGRESS_SECONDS = 5
# Starts of one crowdfund-local before the run gives up on it.
START_ATTEMPTS = 3
# A drain counts once the pipeline looked idle this many times in a row.
IDLE_READINGS = 2
SHOW_IDS = 5
ANSI = re.compile(r"\x1b\[[0-9;]*m")
POLLED = re.compile(r"received=(\d+)\s+failed=(\d+)")
MAIL_PAYMENT = re.compile(r"payment (\S+?)[ ,.]")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--payments", type=positive, default=2000, help="payments sent (2,000)")
    p.add_argument("--duplicates", type=fraction, default=0.05,
                   help="share of payments posted twice (0.05)")
    p.add_argument("--declines", type=fraction, default=0.10,
                   help="share of payments with the declining card tok_decline (0.10)")
    add_fault_arguments(p, seed=16)
    p.add_argument("--projects", type=positive, default=4,
                   help="projects whose goal is never reached (4)")
    p.add_argument("--no-goal-project", action="store_true",
                   help="no project that reaches its goal (no goal check, no cancels)")
    p.add_argument("--senders", type=positive, default=4, help="client threads posting (4)")
    p.add_argument("--pollers", type=positive, default=4,
                   help="crowdfund-local processes polling the queues, as concurrent Lambda "
                   "executions (4)")
    p.add_argument("--rate", type=float, default=0,
                   help="cap on broker posts per second (0: as fast as the senders go)")
    p.add_argument("--max-retry-delay", type=int, default=0,
                   help="crowdfund-local run --max-retry-delay: DLQ retry delay cap (0 s)")
    p.add_argument("--drain-timeout", type=float, default=900,
                   help="longest wait for the queues to empty after sending (900 s)")
    p.add_argument("--mysql", default="mysql://root@127.0.0.1:3306",
                   help="MariaDB/MySQL server for crowdfund-api (mysql://root@127.0.0.1:3306)")
    p.add_argument("--plain-moto", action="store_true", help="start moto without FAST_CLOCK")
    p.add_argument("--local", help="crowdfund-local binary (default: target/release, else debug)")
    p.add_argument("--api", help="crowdfund-api binary (default: target/release, else debug)")
    p.add_argument("--keep", action="store_true",
                   help="keep the API's database (the logs directory is always kept)")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = p.parse_args()
    if args.reset + args.delay_share > 1:
        p.error("--reset + --delay-share must not exceed 1")
    if args.delay_seconds < 0 or args.drain_timeout <= 0 or args.rate < 0:
        p.error("--delay-seconds, --drain-timeout and --rate must be positive")
    return args


# ---- the parts ------------------------------------------------------------------------------


class MySql:
    """The `mysql` client against --mysql: enough to create, query and drop one database."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "mysql" or not u.hostname:
            sys.exit(f"--mysql {url}: expected mysql://user[:password]@host[:port]")
        self.url = url.rstrip("/")
        self.args = ["mysql", "-h", u.hostname, "-P", str(u.port or 3306),
                     "-u", urllib.parse.unquote(u.username or "root"), "-N", "-B"]
        self.password = urllib.parse.unquote(u.password) if u.password else None
        if not shutil.which("mysql"):
            sys.exit("the mysql client is not on PATH (apt-get install mariadb-client)")

    def run(self, sql, database=None):
        env = dict(os.environ)
        if self.password:
            env["MYSQL_PWD"] = self.password
        out = subprocess.run(self.args + ([database] if database else []) + ["-e", sql],
                             capture_output=True, text=True, env=env, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"mysql: {out.stderr.strip()}")
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def database_url(self, name):
        return f"{self.url}/{name}"


def http_json(method, url, body=None, timeout=30):
    """(status, parsed body) of one request; connection errors raise OSError."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text or b"null")
        except ValueError:
            return e.code, text.decode("utf-8", "replace")


class Processes:
    """The child processes, stopped in reverse order however the run ends."""

    def __init__(self):
        self.children = []

    def start(self, name, cmd, logfile, env=None):
        proc = subprocess.Popen(cmd, stdout=logfile, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL)
        self.children.append((name, proc))
        return proc

    def stop(self, proc, sig=signal.SIGINT, timeout=30):
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def stop_all(self):
        for _, proc in reversed(self.children):
            self.stop(proc, signal.SIGTERM)


def label(action, body):
    """Finer names for the calls whose repeats matter: the idempotency store's claims and
    completions (PutItem on an `idem#` key, with or without a condition), and sends by queue."""
    if action == "dynamodb:PutItem" and b'"idemState"' in body:
        return action + (" (claim)" if b'"ConditionExpression"' in body else " (complete)")
    if action == "sqs:SendMessage":
        m = re.search(rb'"QueueUrl"\s*:\s*"[^"]*/([^"/]+)"', body)
        if m:
            return f"{action} ({m.group(1).decode('ascii', 'replace')})"
    return action


# ---- the payments ---------------------------------------------------------------------------


def plan_payments(args, targets):
    """The broker bodies in sending order (duplicates included) and what each payment is.
    `projectId` holds an index into the `targets` projects until they exist."""
    rng = random.Random(args.seed)
    n = args.payments
    ids = [f"pay-fr{args.seed}-{i:05d}" for i in range(n)]
    declined = set(rng.sample(ids, round(n * args.declines)))
    payments = {}
    for i, pid in enumerate(ids):
        payments[pid] = {
            "destination": "payment_attempt", "paymentId": pid,
            "projectId": rng.randrange(targets),
            "backerEmail": f"backer{i}@example.com", "amount": rng.choice(AMOUNTS),
            "currency": "KRW", "card": CARD_DECLINE if pid in declined else CARD_APPROVE,
        }
    order = list(ids)
    duplicated = rng.sample(ids, round(n * args.duplicates))
    for pid in duplicated:
        # The second delivery comes later, somewhere after the first.
        first = order.index(pid)
        order.insert(rng.randint(first + 1, len(order)), pid)
    return payments, order, declined, set(duplicated)


class Sender:
    """Posts the broker bodies on a few threads, retrying as a client would."""

    def __init__(self, broker_urls, payments, order, senders, rate):
        self.urls = broker_urls
        self.payments = payments
        self.order = order
        self.senders = senders
        self.interval = 1 / rate if rate else 0
        self.lock = threading.Lock()
        self.next_slot = time.monotonic()
        self.posted = 0
        self.client_retries = 0
        self.accepted = set()
        self.refused = {}      # payment id -> last answer (4xx, or 5xx after every attempt)
        self.statuses = collections.Counter()

    def _pace(self):
        if not self.interval:
            return
        with self.lock:
            slot = max(self.next_slot, time.monotonic())
            self.next_slot = slot + self.interval
        time.sleep(max(0.0, slot - time.monotonic()))

    def post(self, n, pid):
        """Posts the n-th body (to the brokers in turn, as API Gateway spreads its calls)."""
        body = self.payments[pid]
        url = self.urls[n % len(self.urls)]
        self._pace()
        answer = None
        for attempt in range(BROKER_ATTEMPTS):
            if attempt:
                with self.lock:
                    self.client_retries += 1
                time.sleep(min(0.5 * 2 ** (attempt - 1), 8))
            try:
                status, answer = http_json("POST", url, body, BROKER_TIMEOUT_SECONDS)
            except OSError as e:
                status, answer = None, f"{type(e).__name__}: {e}"
            with self.lock:
                self.statuses[status or "connection error"] += 1
            if status == 202:
                with self.lock:
                    self.posted += 1
                    self.accepted.add(pid)
                    self.refused.pop(pid, None)
                return
            if status is not None and 400 <= status < 500:
                break
        with self.lock:
            self.posted += 1
            if pid not in self.accepted:
                self.refused[pid] = f"{status}: {answer}"

    def run(self, progress):
        with concurrent.futures.ThreadPoolExecutor(self.senders) as pool:
            futures = [pool.submit(self.post, n, pid) for n, pid in enumerate(self.order)]
            while not all(f.done() for f in futures):
                time.sleep(0.5)
                progress()
            for f in futures:
                f.result()


# ---- reading the outcome (straight from moto, MariaDB and the API) -------------------------


def queue_depths(sqs, urls):
    out = {}
    for name, url in urls.items():
        a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        out[name] = (int(a["ApproximateNumberOfMessages"]),
                     int(a["ApproximateNumberOfMessagesNotVisible"]),
                     int(a["ApproximateNumberOfMessagesDelayed"]))
    return out


def depth_line(depths):
    short = {"payment_attempt_queue": "pa", "send_email_queue": "mail",
             "approve_payment_queue": "raise", "goal_achievement_queue": "goal",
             DLQ: "dlq", PARKED: "parked"}
    return " ".join(f"{short[q]} {v}/{f}/{d}" for q, (v, f, d) in depths.items())


def scan_table(ddb):
    items, kwargs = [], {"TableName": TABLE, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kwargs)
        items.extend(page["Items"])
        if not page.get("LastEvaluatedKey"):
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def attr(item, name):
    v = item.get(name)
    if v is None:
        return None
    return v.get("S", v.get("N"))


def read_parked(sqs, url):
    """Every message of etc_parked, each once (held 10 min: the run is over)."""
    seen, empty = {}, 0
    while empty < 2:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600,
                                  WaitTimeSeconds=0).get("Messages", [])
        empty = 0 if got else empty + 1
        for m in got:
            seen[m["MessageId"]] = m["Body"]
    out = []
    for body in seen.values():
        try:
            env = json.loads(body)
        except ValueError:
            env = None
        out.append(env if isinstance(env, dict) else {"unreadable": body})
    return out


def sent_mails(moto):
    with urllib.request.urlopen(moto + "/moto-api/data.json", timeout=300) as r:
        data = json.load(r)
    mails = []
    for m in data.get("ses", {}).get("Message", []):
        subject, body = m.get("subject") or "", m.get("body") or ""
        if subject.startswith("Thank you for backing"):
            template = "receipt"
        elif "was refunded" in subject:
            template = "refund"
        elif "did not go through" in subject:
            template = "declined"
        else:
            template = "other"
        found = MAIL_PAYMENT.search(body + " ")
        mails.append((template, found.group(1) if found else None))
    return mails


def cloudwatch_sum(cw, metric, start, end):
    """Sum of a custom metric (namespace Crowdfund) over all its dimensions in [start, end]."""
    total = 0.0
    metrics = cw.list_metrics(Namespace="Crowdfund", MetricName=metric).get("Metrics", [])
    for m in metrics:
        points = cw.get_metric_statistics(
            Namespace="Crowdfund", MetricName=metric, Dimensions=m.get("Dimensions", []),
            StartTime=start, EndTime=end, Period=60, Statistics=["Sum"]).get("Datapoints", [])
        total += sum(p["Sum"] for p in points)
    return int(total)


# ---- the checks -----------------------------------------------------------------------------


class Checks:
    def __init__(self):
        self.rows = []

    def add(self, name, offenders, detail):
        """offenders: a list of 'id (why)' strings; empty means the check passed."""
        self.rows.append({"check": name, "ok": not offenders, "detail": detail,
                          "count": len(offenders), "first": offenders[:SHOW_IDS]})

    def failed(self):
        return [r for r in self.rows if not r["ok"]]


def run_checks(c, accepted, ledger, charges, refunds, parked, mails, fundings, api_projects,
               drained, drain_note, lost_mail_answers):
    approved = {p for p, r in ledger.items() if r["status"] == "approved"}
    cancelled = {p for p, r in ledger.items() if r["status"] == "cancelled"}
    declined = {p for p, r in ledger.items() if r["status"] == "declined"}
    parked_ids = collections.defaultdict(list)
    for env in parked:
        pid = (env.get("payload") or {}).get("paymentId") if "payload" in env else None
        if pid:
            parked_ids[pid].append(env)

    c.add("drained", [] if drained else ["pipeline still busy"], drain_note)

    lost = sorted(p for p in accepted if p not in ledger and p not in parked_ids)
    c.add("0 lost", lost, f"{len(accepted)} accepted; {len(accepted) - len(lost)} in the "
          f"ledger or parked")

    bad = []
    for pid in sorted(set(charges) | approved | cancelled):
        ch = charges.get(pid)
        rec = ledger.get(pid)
        if ch is None:
            bad.append(f"{pid} (in the ledger {rec['status']}, never charged)")
        elif ch.get("outcome") == "approved" and (rec is None or rec["status"] == "declined"):
            bad.append(f"{pid} (charged {ch.get('chargeId')}, ledger "
                       f"{rec['status'] if rec else 'has no record'})")
        elif rec and rec["status"] in ("approved", "cancelled") and (
                ch.get("outcome") != "approved" or ch.get("chargeId") != rec.get("chargeId")):
            bad.append(f"{pid} (ledger charge {rec.get('chargeId')}, gateway "
                       f"{ch.get('outcome')} {ch.get('chargeId')})")
    refunded = collections.Counter(refunds.values())
    for pid, n in sorted(refunded.items()):
        if n > 1 or pid not in cancelled:
            bad.append(f"{pid} ({n} refund(s), ledger {ledger.get(pid, {}).get('status')})")
    for pid in sorted(cancelled - set(refunded)):
        bad.append(f"{pid} (cancelled, never refunded)")
    repeated = sum(1 for ch in charges.values() if int(ch.get("attempts") or 0) > 1)
    c.add("0 double charges", bad,
          f"{sum(1 for ch in charges.values() if ch.get('outcome') == 'approved')} charges, "
          f"{len(refunds)} refunds; {repeated} payment(s) asked of the gateway more than once "
          f"(answered the recorded outcome)")

    per = collections.Counter((t, p) for t, p in mails)
    doubles = sorted(f"{p} ({t} x{n})" for (t, p), n in per.items() if n > 1)
    extra = len(mails) - len(per)
    # SES has no idempotency key: a send whose answer was lost (SES sent the mail, the reset
    # ate the answer) is retried and mails twice; mail is at-least-once by design
    # (docs/design.md). Doubles beyond those lost answers are a bug.
    unexplained = doubles if extra > lost_mail_answers else []
    c.add("0 double mails", unexplained,
          f"{len(mails)} mails: " + ", ".join(
              f"{t} {n}" for t, n in sorted(collections.Counter(t for t, _ in mails).items()))
          + f"; {extra} double(s), {lost_mail_answers} SES answer(s) lost after sending")

    missing = []
    receipts = {p for t, p in per if t == "receipt"}
    refund_mails = {p for t, p in per if t == "refund"}
    for pid in sorted((approved | cancelled) - receipts):
        missing.append(f"{pid} (no receipt)")
    for pid in sorted(cancelled - refund_mails):
        missing.append(f"{pid} (cancelled, no refund mail)")
    for pid in sorted(receipts - approved - cancelled):
        missing.append(f"{pid} (receipt, ledger {ledger.get(pid, {}).get('status')})")
    for t, p in sorted(per):
        if t == "other" or p is None:
            missing.append(f"{p} (unrecognised mail {t})")
    c.add("receipts", missing, f"{len(approved | cancelled)} approved (incl. later cancelled), "
          f"{len(cancelled)} cancelled")

    raises = []
    rows_per = collections.Counter(f["paymentId"] for f in fundings)
    for pid, n in sorted(rows_per.items()):
        if n > 1:
            raises.append(f"{pid} ({n} fundings)")
    live_by_project = collections.Counter()
    for f in fundings:
        pid, rec = f["paymentId"], ledger.get(f["paymentId"])
        live = not f["tombstone"] and not f["reversed"]
        if live:
            live_by_project[f["projectId"]] += f["amount"]
        if f["tombstone"]:
            continue
        if rec is None or rec["status"] == "declined":
            raises.append(f"{pid} (raised {f['amount']}, ledger "
                          f"{rec['status'] if rec else 'has no record'})")
        elif rec["amount"] != f["amount"] or rec["projectId"] != f["projectId"]:
            raises.append(f"{pid} (raised {f['amount']} on {f['projectId']}, ledger "
                          f"{rec['amount']} on {rec['projectId']})")
    for prj, view in sorted(api_projects.items()):
        if view["raised"] != live_by_project.get(prj, 0):
            raises.append(f"{prj} (raised {view['raised']}, its live fundings add up to "
                          f"{live_by_project.get(prj, 0)})")
    c.add("0 double raises", raises, f"{len(fundings)} fundings, "
          f"{sum(1 for f in fundings if f['reversed'])} reversed, "
          f"{sum(1 for f in fundings if f['tombstone'])} tombstones")

    net = collections.Counter()
    for pid in approved:
        net[ledger[pid]["projectId"]] += ledger[pid]["amount"]
    wrong = []
    live_ids = {f["paymentId"] for f in fundings if not f["tombstone"] and not f["reversed"]}
    for prj, view in sorted(api_projects.items()):
        if view["raised"] != net.get(prj, 0):
            wrong.append(f"{prj} (raised {view['raised']}, ledger net {net.get(prj, 0)})")
    for pid in sorted(approved - live_ids):
        wrong.append(f"{pid} (approved, not raised)")
    for pid in sorted(live_ids - approved):
        wrong.append(f"{pid} (raised, ledger {ledger.get(pid, {}).get('status')})")
    c.add("raised = ledger", wrong, f"{len(api_projects)} projects, "
          f"{sum(v['raised'] for v in api_projects.values()):,} KRW raised")

    unretried = []
    for pid in sorted(declined):
        envs = parked_ids.get(pid, [])
        if not envs:
            unretried.append(f"{pid} (declined, not parked)")
            continue
        attempts = sorted({int(e.get("attempts") or 0) for e in envs})
        if attempts != [0]:
            unretried.append(f"{pid} (parked with attempts {','.join(map(str, attempts))})")
    twice = sum(1 for pid in declined if len(parked_ids.get(pid, [])) > 1)
    c.add("declines parked", unretried,
          f"{len(declined)} declined; {sum(1 for p in declined if p in parked_ids)} parked, "
          f"{twice} parked more than once")
    return {"approved": len(approved), "cancelled": len(cancelled), "declined": len(declined),
            "parkedDeclines": sum(len(parked_ids[p]) for p in declined if p in parked_ids),
            "parkedFaults": sum(len(v) for p, v in parked_ids.items() if p not in declined),
            "parkedForFaults": sorted(
                {p for p, envs in parked_ids.items() if p not in declined}),
            "parkedUnreadable": sum(1 for e in parked if "unreadable" in e),
            "parkedOther": sum(1 for e in parked if "payload" in e and not (
                e.get("payload") or {}).get("paymentId"))}


# ---- the run --------------------------------------------------------------------------------


def main():
    args = parse_args()
    benchlib.ensure_venv()
    local = benchlib.binary("crowdfund-local", args.local)
    api = benchlib.binary("crowdfund-api", args.api)
    if not local or not api:
        sys.exit("build crowdfund-local and crowdfund-api first (see the top of this script)")
    mysql = MySql(args.mysql)
    logs = tempfile.mkdtemp(prefix="fault-run-")
    log(f"logs in {logs}; binaries {os.path.relpath(local, benchlib.ROOT)}, "
        f"{os.path.relpath(api, benchlib.ROOT)}")
    procs = Processes()
    database = f"crowdfund_fault_{args.seed}_{os.getpid()}"
    proxy = None
    started = time.monotonic()
    moto_log = open(os.path.join(logs, "moto.log"), "w", encoding="utf-8")
    moto_proc, moto = benchlib.start_own_moto(moto_log, fast_clock=not args.plain_moto)
    procs.children.append(("moto", moto_proc))
    try:
        mysql.run(f"CREATE DATABASE `{database}`")
        proxy = FaultProxy(moto, reset=args.reset, delay_share=args.delay_share,
                           delay_seconds=args.delay_seconds, reset_after=args.reset_after,
                           seed=args.seed, label=label)
        result = run(args, local, api, mysql, database, moto, proxy, procs, logs, started)
    finally:
        procs.stop_all()
        if proxy is not None:
            proxy.stop()
        moto_log.close()
        if not args.keep:
            try:
                mysql.run(f"DROP DATABASE IF EXISTS `{database}`")
            except RuntimeError as e:
                log(f"could not drop {database}: {e}")
    sys.exit(result)


def run(args, local, api, mysql, database, moto, proxy, procs, logs, started):
    env = benchlib.credentials_env()
    env["NO_COLOR"] = "1"
    benchlib.provision(local, moto)
    sqs = benchlib.client("sqs", moto)
    ddb = benchlib.client("dynamodb", moto)
    cw = benchlib.client("cloudwatch", moto)
    urls = {q: sqs.get_queue_url(QueueName=q)["QueueUrl"] for q in WORK_QUEUES + [DLQ, PARKED]}

    ports = set()
    while len(ports) < 1 + args.pollers:
        ports.add(benchlib.free_port())
    api_port, *broker_ports = sorted(ports)
    api_url = f"http://127.0.0.1:{api_port}"
    broker_urls = [f"http://127.0.0.1:{port}/broker" for port in broker_ports]
    broker_url = broker_urls[0]
    api_env = dict(env, DATABASE_URL=mysql.database_url(database), RUST_LOG="warn")
    api_log = open(os.path.join(logs, "api.log"), "w", encoding="utf-8")
    out = subprocess.run([api, "migrate"], env=api_env, stdout=api_log,
                         stderr=subprocess.STDOUT, timeout=300)
    if out.returncode != 0:
        sys.exit(f"crowdfund-api migrate failed; see {api_log.name}")
    api_proc = procs.start("crowdfund-api", [
        api, "--role", "funding-rw", "--port", str(api_port), "--broker-url", broker_url,
        "--broker-auth", "none", "--project-cache-ms", "0"], api_log, api_env)
    if not benchlib.wait_http(api_url + "/healthz", 60, api_proc):
        sys.exit(f"crowdfund-api did not start; see {api_log.name}")

    # The projects: goals no run reaches, and (the last) one reached part-way.
    targets = args.projects + (0 if args.no_goal_project else 1)
    payments, order, declined, duplicated = plan_payments(args, targets)
    deadline = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
                ).strftime("%Y-%m-%dT%H:%M:%SZ")
    goals = [args.payments * max(AMOUNTS) + 1] * args.projects
    if not args.no_goal_project:
        own = sum(p["amount"] for p in payments.values()
                  if p["projectId"] == args.projects and p["card"] == CARD_APPROVE)
        goals.append(max(1, int(own * GOAL_SHARE)))
    ids = []
    for i, goal in enumerate(goals):
        status, body = http_json("POST", api_url + "/projects", {
            "title": f"Fault run {i + 1}", "goal": goal, "currency": "KRW",
            "deadline": deadline})
        if status != 201:
            sys.exit(f"POST /projects answered {status}: {body}")
        ids.append(body["id"])
    for p in payments.values():
        p["projectId"] = ids[p["projectId"]]
    projects = ids[:args.projects]
    goal_project = None if args.no_goal_project else ids[-1]
    goal = None if args.no_goal_project else goals[-1]

    # The pollers: as many concurrent executions of each function, every one through the proxy.
    # crowdfund-local stops at start-up when its first look at the queues fails, and through
    # the proxy that look may fail (all of an SDK call's attempts reset): started again, as
    # Lambda starts a new execution environment, up to START_ATTEMPTS times.
    proxy_url = proxy.start()
    pollers, restarts = [], 0

    def start_poller(n, port, mode="w"):
        path = os.path.join(logs, f"crowdfund-local-{n + 1}.log")
        proc = procs.start("crowdfund-local", [
            local, "run", "--endpoint-url", proxy_url, "--broker-port", str(port),
            "--funding-api-url", api_url, "--max-retry-delay", str(args.max_retry_delay)],
            open(path, mode, encoding="utf-8"), env)
        return proc, path

    for n, port in enumerate(broker_ports):
        for attempt in range(START_ATTEMPTS):
            proc, path = start_poller(n, port, "a" if attempt else "w")
            if benchlib.wait_http(f"http://127.0.0.1:{port}/healthz", 120, proc):
                break
            with open(path, encoding="utf-8", errors="replace") as f:
                last = (f.read().strip().splitlines() or ["(no output)"])[-1]
            log(f"crowdfund-local {n + 1} did not start: {last[:200]}")
            restarts += 1
        else:
            sys.exit(f"crowdfund-local did not start {START_ATTEMPTS} times; see {path}")
        pollers.append((proc, path))
    setup_seconds = time.monotonic() - started
    log(f"moto {moto}, fault proxy {proxy_url} (reset {args.reset:.0%}, "
        f"{args.reset_after:.0%} of them after moto answered; delay {args.delay_share:.0%} "
        f"by {args.delay_seconds:g} s; seed {args.seed}), api {api_url}, {args.pollers} "
        f"crowdfund-local poller(s) with brokers on ports "
        f"{', '.join(map(str, broker_ports))}")
    log(f"{len(payments)} payments ({len(declined)} declining, {len(duplicated)} posted twice: "
        f"{len(order)} posts) to {len(projects)} projects"
        + (f" + {goal_project} with goal {goal:,} KRW" if goal_project else ""))

    # ---- send ------------------------------------------------------------------------------
    sender = Sender(broker_urls, payments, order, args.senders, args.rate)
    send_started = time.monotonic()
    last = [0.0]

    def progress(force=False):
        now = time.monotonic()
        if not force and now - last[0] < PROGRESS_SECONDS:
            return
        last[0] = now
        depths = queue_depths(sqs, urls)
        elapsed = now - send_started
        faults = proxy.faults()["total"]
        log(f"sending {elapsed:4.0f} s: {sender.posted}/{len(order)} posts "
            f"({sender.posted / max(elapsed, 1e-9):.1f}/s), client retries "
            f"{sender.client_retries}; queues visible/in-flight/delayed: {depth_line(depths)}; "
            f"proxy {faults['requests']} requests, {faults['resetBefore'] + faults['resetAfter']}"
            f" resets, {faults['delayed']} delayed")

    def exited():
        return [path for proc, path in pollers if proc.poll() is not None]

    if exited():
        sys.exit(f"crowdfund-local exited; see {exited()[0]}")
    sender.run(progress)
    send_seconds = time.monotonic() - send_started
    log(f"sent {len(order)} posts in {send_seconds:.0f} s ({len(order) / send_seconds:.1f}/s); "
        f"{len(sender.accepted)} payments accepted, {len(sender.refused)} refused")

    # ---- drain -----------------------------------------------------------------------------
    drain_started = time.monotonic()
    idle, drained, depths = 0, False, {}
    while time.monotonic() - drain_started < args.drain_timeout:
        if exited():
            log(f"a crowdfund-local poller exited; see {exited()[0]}")
            break
        depths = queue_depths(sqs, urls)
        outbox = int(mysql.run("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL",
                               database)[0][0])
        busy = sum(sum(depths[q]) for q in WORK_QUEUES) + sum(depths[DLQ][:2]) + outbox
        idle = idle + 1 if busy == 0 else 0
        waited = time.monotonic() - drain_started
        log(f"draining {waited:4.0f} s: {busy} pending (visible/in-flight/delayed: "
            f"{depth_line(depths)}; outbox {outbox})")
        if idle >= IDLE_READINGS:
            drained = True
            break
        time.sleep(PROGRESS_SECONDS)
    drain_seconds = time.monotonic() - drain_started
    drain_note = (f"in {drain_seconds:.0f} s" if drained else
                  f"NOT within {args.drain_timeout:.0f} s: {depth_line(depths)}")
    if drained and depths.get(DLQ, (0, 0, 0))[2]:
        drain_note += f" ({depths[DLQ][2]} delayed message(s) left on etc_dlq)"
    # The figures before the pollers stop: a held answer cut short by the stop is no time-out.
    faults = proxy.faults()
    for proc, _ in pollers:
        proc.send_signal(signal.SIGINT)
    for proc, _ in pollers:
        procs.stop(proc, signal.SIGINT)
    end_time = datetime.datetime.now(datetime.timezone.utc)
    proxy.stop()

    # ---- read and check --------------------------------------------------------------------
    check_started = time.monotonic()
    ours = set(payments)
    ledger, charges, refunds = {}, {}, {}
    for item in scan_table(ddb):
        key = attr(item, "paymentId") or ""
        if key.startswith("sandbox#charge#"):
            charges[key[len("sandbox#charge#"):]] = {k: attr(item, k) for k in item}
        elif key.startswith("sandbox#refund#"):
            charge = attr(item, "chargeId") or ""
            refunds[key[len("sandbox#refund#"):]] = charge[len("ch_"):]
        elif key in ours and "status" in item:
            ledger[key] = {"status": attr(item, "status"), "projectId": attr(item, "projectId"),
                           "amount": int(attr(item, "amount")),
                           "chargeId": attr(item, "chargeId")}
    parked = read_parked(sqs, urls[PARKED])
    mails = sent_mails(moto)
    fundings = [{"paymentId": r[0], "projectId": r[1], "amount": int(r[2]),
                 "tombstone": r[3] == "1", "reversed": r[4] == "1"}
                for r in mysql.run("SELECT payment_id, project_id, amount, tombstone, "
                                   "reversed_at IS NOT NULL FROM fundings", database)]
    api_projects = {}
    for prj in projects + ([goal_project] if goal_project else []):
        status, view = http_json("GET", f"{api_url}/projects/{prj}")
        if status != 200:
            sys.exit(f"GET /projects/{prj} answered {status}: {view}")
        api_projects[prj] = view
    achieved = mysql.run("SELECT id, goal_achieved_at FROM projects "
                         "WHERE goal_achieved_at IS NOT NULL", database)
    local_lines = []
    for _, path in pollers:
        with open(path, encoding="utf-8", errors="replace") as f:
            local_lines.extend(ANSI.sub("", line) for line in f)
    handled = failed_items = 0
    for line in local_lines:
        m = POLLED.search(line)
        if m:
            handled += int(m.group(1))
            failed_items += int(m.group(2))
    round_failures = sum(1 for line in local_lines if "polling failed" in line)
    try:
        metric_failed = cloudwatch_sum(cw, "MessagesFailed",
                                       end_time - datetime.timedelta(hours=2), end_time)
    except Exception as e:  # noqa: BLE001 - a figure, not a check
        log(f"reading MessagesFailed from CloudWatch failed: {e}")
        metric_failed = None

    checks = Checks()
    ses = faults["byAction"].get("POST /v2/email/outbound-emails", {})
    states = run_checks(checks, sender.accepted, ledger, charges, refunds, parked, mails,
                        fundings, api_projects, drained, drain_note,
                        ses.get("resetAfter", 0) + ses.get("timeouts", 0))
    check_seconds = time.monotonic() - check_started
    total_seconds = time.monotonic() - started

    # ---- report ----------------------------------------------------------------------------
    t = faults["total"]

    def lost_answers(action):
        """Requests of `action` that took effect but whose answer the client never got."""
        c = faults["byAction"].get(action, {})
        return c.get("resetAfter", 0) + c.get("timeouts", 0)

    extra_mails = len(mails) - len(set(mails))
    parked_payments = [(e.get("payload") or {}).get("paymentId") for e in parked]
    extra_parked = len([p for p in parked_payments if p]) - len({p for p in parked_payments if p})
    print()
    print(f"fault run: {args.payments} payments, seed {args.seed}, reset {args.reset:.0%} "
          f"({args.reset_after:.0%} after moto answered), delay {args.delay_share:.0%} by "
          f"{args.delay_seconds:g} s")
    benchlib.table(["figure", "value"], [
        ("payments / posts", f"{len(payments)} / {len(order)} ({len(duplicated)} posted twice)"),
        ("declining cards", len(declined)),
        ("accepted by the broker / refused", f"{len(sender.accepted)} / {len(sender.refused)}"),
        ("client retries of POST /broker", sender.client_retries),
        ("broker answers", ", ".join(f"{k} {v}" for k, v in sorted(
            sender.statuses.items(), key=lambda kv: str(kv[0])))),
        ("ledger: approved / cancelled / declined",
         f"{states['approved']} / {states['cancelled']} / {states['declined']}"),
        ("goal reached", ", ".join(f"{r[0]} at {r[1]}" for r in achieved) or "-"),
        ("parked messages: declines / faults / other",
         f"{states['parkedDeclines']} / {states['parkedFaults']} "
         f"/ {states['parkedUnreadable'] + states['parkedOther']}"),
        ("mails sent", len(mails)),
        ("mails beyond one per payment and template / SES sends whose answer was lost",
         f"{extra_mails} / {lost_answers('POST /v2/email/outbound-emails')}"),
        ("parked copies beyond one per payment / etc_parked sends whose answer was lost",
         f"{extra_parked} / {lost_answers('sqs:SendMessage (etc_parked)')}"),
        ("proxy: requests", t["requests"]),
        ("proxy: connections reset before / after moto answered",
         f"{t['resetBefore']} / {t['resetAfter']}"),
        ("proxy: answers delayed / client gave up (time-outs)",
         f"{t['delayed']} / {t['timeouts']}"),
        ("SDK retries (amz-sdk-request attempt > 1)", t["sdkRetries"]),
        ("SDK calls whose last attempt was faulted", t["gaveUp"]),
        ("pipeline: messages handled / left for redelivery (log)",
         f"{handled} / {failed_items}"),
        ("pipeline: MessagesFailed (CloudWatch)", "-" if metric_failed is None else metric_failed),
        ("pipeline: polling rounds failed (log) / pollers restarted at start-up",
         f"{round_failures} / {restarts}"),
        ("wall: setup / sending / drain / checks / total",
         f"{setup_seconds:.0f} / {send_seconds:.0f} / {drain_seconds:.0f} / "
         f"{check_seconds:.0f} / {total_seconds:.0f} s"),
        ("rate: posts/s sending; payments/s end to end",
         f"{len(order) / send_seconds:.1f}; "
         f"{len(payments) / (send_seconds + drain_seconds):.1f}"),
    ])
    print(benchlib.load_note())
    print()
    rows = []
    for action, c in faults["byAction"].items():
        rows.append((action, c["requests"], c["sdkRetries"],
                     c["resetBefore"], c["resetAfter"], c["delayed"], c["timeouts"],
                     c["gaveUp"]))
    rows.sort(key=lambda r: -r[1])
    rows.append(("total", sum(r[1] for r in rows), t["sdkRetries"], t["resetBefore"],
                 t["resetAfter"], t["delayed"], t["timeouts"], t["gaveUp"]))
    benchlib.table(["action", "requests", "SDK retries", "reset before", "reset after",
                    "delayed", "time-outs", "gave up"], rows)
    print()
    benchlib.table(["check", "result", "detail"], [
        (r["check"], "ok" if r["ok"] else f"FAIL ({r['count']})", r["detail"])
        for r in checks.rows])
    failed = checks.failed()
    for r in failed:
        print(f"FAILED {r['check']}: {r['count']} offender(s), first: {'; '.join(r['first'])}")
    if sender.refused:
        print("refused by the broker: " + "; ".join(
            f"{k}: {v}" for k, v in list(sender.refused.items())[:SHOW_IDS]))
    if states["parkedForFaults"]:
        print(f"parked after retries (faults, not declines): "
              f"{', '.join(states['parkedForFaults'][:SHOW_IDS])}")
    print(f"logs: {logs}")
    if args.json:
        print(json.dumps({"checks": checks.rows, "faults": faults,
                          "handled": handled, "leftForRedelivery": failed_items,
                          "messagesFailedMetric": metric_failed,
                          "clientRetries": sender.client_retries,
                          "seconds": {"setup": setup_seconds, "send": send_seconds,
                                      "drain": drain_seconds, "checks": check_seconds,
                                      "total": total_seconds}}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    main()
