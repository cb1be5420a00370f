"""Shared pieces of the benchmarks that run against moto server (scripts/bench-*.py).

- `ensure_venv()`: runs the calling script inside target/bench/venv (boto3 and awscli, pinned,
  installed with pip on first use), re-executing it there if needed.
- `moto_endpoint(url)`: the moto URL to use (given, else $CROWDFUND_MOTO_URL, else a server
  started with scripts/moto.sh and stopped at exit); refuses anything but a loopback address,
  because the benchmarks reset the endpoint's whole state.
- `reset`, `provision`, `binary`, `client`: moto reset, `crowdfund-local provision`, locating a
  built binary, a boto3 client with bounded timeouts.
- `send_all`: fills a queue with SendMessageBatch on a few threads.
- `median`, `table`, `load_note`: figures, the printed table, the machine's load.
- `free_port`, `start_own_moto`: a loopback port; a moto server of the caller's own (its own
  process and state, optionally with FAST_CLOCK), for runs that reset or load it heavily.
- `wait_http`: waits until a local server answers a GET.
"""
import atexit
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "bench", "venv")
# boto3 and awscli pinned to one botocore release, so pip resolves them together.
REQUIREMENTS = ["boto3==1.44.8", "awscli==1.46.3"]
# Upper bounds on the waits, so a stuck endpoint ends the run instead of hanging it.
PIP_TIMEOUT_SECONDS = 600
MOTO_START_TIMEOUT_SECONDS = 300
COMMAND_TIMEOUT_SECONDS = 600


def venv_bin(name):
    return os.path.join(VENV, "bin", name)


def ensure_venv():
    """Re-executes the calling script under the bench venv's Python, creating it if needed."""
    stamp = os.path.join(VENV, "requirements.txt")
    wanted = "\n".join(REQUIREMENTS) + "\n"
    try:
        with open(stamp, encoding="utf-8") as f:
            ready = f.read() == wanted
    except FileNotFoundError:
        ready = False
    if not ready:
        print(f"installing {' '.join(REQUIREMENTS)} into {os.path.relpath(VENV, ROOT)} ...",
              file=sys.stderr)
        log = os.path.join(os.path.dirname(VENV), "pip.log")
        os.makedirs(os.path.dirname(VENV), exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True,
                       timeout=PIP_TIMEOUT_SECONDS)
        with open(log, "w", encoding="utf-8") as out:
            done = subprocess.run([venv_bin("pip"), "install", "--quiet",
                                   "--disable-pip-version-check", *REQUIREMENTS],
                                  stdout=out, stderr=subprocess.STDOUT,
                                  timeout=PIP_TIMEOUT_SECONDS)
        if done.returncode != 0:
            sys.exit(f"pip could not install {' '.join(REQUIREMENTS)}; see {log}")
        with open(stamp, "w", encoding="utf-8") as f:
            f.write(wanted)
    if os.path.realpath(sys.prefix) != os.path.realpath(VENV):
        python = venv_bin("python")
        os.execv(python, [python, os.path.abspath(sys.argv[0]), *sys.argv[1:]])


def _stop_moto():
    subprocess.run([os.path.join(ROOT, "scripts", "moto.sh"), "stop"], check=False,
                   timeout=60)


def moto_endpoint(url=None):
    """The moto URL: `url`, else $CROWDFUND_MOTO_URL, else one started now and stopped at exit."""
    url = (url or os.environ.get("CROWDFUND_MOTO_URL") or "").strip()
    if not url:
        print("CROWDFUND_MOTO_URL is not set: starting moto with scripts/moto.sh", file=sys.stderr)
        out = subprocess.run([os.path.join(ROOT, "scripts", "moto.sh"), "start"],
                             check=True, capture_output=True, text=True,
                             timeout=MOTO_START_TIMEOUT_SECONDS)
        atexit.register(_stop_moto)
        url = out.stdout.strip().splitlines()[-1]
    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"{url} is not a loopback address; the benchmarks reset the endpoint's state, "
                 "so point them at a local moto server (scripts/moto.sh start)")
    return url.rstrip("/")


def reset(moto):
    """Empties moto: every resource of every service."""
    req = urllib.request.Request(moto + "/moto-api/reset", method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()


def binary(name, given=None):
    """Path of a built workspace binary or example: `given`, else release, else debug."""
    candidates = [given] if given else [
        os.path.join(ROOT, "target", profile, sub, name)
        for profile in ("release", "debug") for sub in ("", "examples")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def provision(local, moto):
    """Creates the topology with `crowdfund-local provision`."""
    subprocess.run([local, "provision", "--endpoint-url", moto], check=True,
                   stdout=subprocess.DEVNULL, timeout=COMMAND_TIMEOUT_SECONDS)


def credentials_env():
    """Environment for AWS tools pointed at moto: fixed test credentials and region."""
    env = dict(os.environ)
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"})
    env.pop("AWS_PROFILE", None)
    return env


def client(service, moto):
    """A boto3 client for moto with bounded timeouts."""
    import boto3
    from botocore.config import Config
    return boto3.client(service, endpoint_url=moto, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(connect_timeout=5, read_timeout=120,
                                      retries={"max_attempts": 3, "mode": "standard"}))


def send_all(sqs, url, bodies, threads=4):
    """SendMessageBatch of 10, on a few threads (setup only, straight to moto)."""
    import concurrent.futures
    batches = [bodies[i:i + 10] for i in range(0, len(bodies), 10)]

    def send(batch):
        out = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "MessageBody": b} for n, b in enumerate(batch)])
        if out.get("Failed"):
            raise RuntimeError(f"SendMessageBatch failed: {out['Failed'][:2]}")

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, batches))


def load_note():
    """The machine's load while measuring: moto, Python and the binaries share its cores."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def median(values):
    return statistics.median(values)


def table(headers, rows):
    """Prints rows under headers, columns right-aligned except the first."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for r in cells:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths))))


MOTO_PYTHON = os.path.join(ROOT, "target", "moto", "venv", "bin", "python")
# moto reads the wall clock through datetime conversions for every message of a queue on every
# ReceiveMessage and SendMessage, so its cost per call grows with the queue. FAST_CLOCK has
# `moto.core.utils.unix_time` answer `time.time()` when asked for now: the same value, without
# the conversions; moto's behaviour is otherwise unchanged.
FAST_CLOCK = """
import time, moto.core.utils as u
slow = u.unix_time
u.unix_time = lambda dt=None: time.time() if dt is None else slow(dt)
"""


def free_port():
    """A free TCP port on 127.0.0.1 (free when asked; bind soon after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=120, process=None):
    """Waits until `url` answers a GET (any status); False after `timeout` seconds, or at once
    when `process` (a Popen) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.3)
    return False


def start_own_moto(log, fast_clock=True):
    """Starts a moto server of the caller's own on a free loopback port (installed by
    scripts/moto.sh on first use), its output to the open file `log`. Returns (process, url);
    the caller stops the process."""
    if not os.path.exists(MOTO_PYTHON):
        subprocess.run([os.path.join(ROOT, "scripts", "moto.sh"), "start"], check=True,
                       stdout=subprocess.DEVNULL, timeout=MOTO_START_TIMEOUT_SECONDS)
        subprocess.run([os.path.join(ROOT, "scripts", "moto.sh"), "stop"], check=False,
                       timeout=60)
    port = free_port()
    code = (FAST_CLOCK if fast_clock else "") + (
        "from moto.server import main\n"
        f"main(['-H', '127.0.0.1', '-p', '{port}'])\n")
    server = subprocess.Popen([MOTO_PYTHON, "-c", code], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    if not wait_http(url + "/moto-api/", timeout=120, process=server):
        server.kill()
        sys.exit(f"moto did not answer on {url}; see {log.name}")
    return server, url
