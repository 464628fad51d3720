"""Issue 4, durability: every message acknowledged with 250 is delivered,
whatever is killed and when.

A throwaway user (bwdurable, made with useradd in a temporary directory
and removed afterwards) gets a stream of a few hundred messages over
several SMTP connections, each with a marker of its own in a header and
in the body. Meanwhile a killer sends SIGKILL at random moments to
bulwark-qmgr, to bulwark-local (the agent), to its delivery children,
and a few times to the master itself, which is then started again on
the same spool and configuration (its daemons must follow it out: none
may be left behind). The stream and the killer are bounded in time.

Then, once the queue is empty (mailq and bulwarkctl say so), every
marker that was answered 250 must be in the Maildir exactly once. A
message refused with 4xx, or whose connection broke before the answer,
was not acknowledged: it may be there (once) or not. A duplicate could
only come from a kill between a mailbox write and the queue's record of
it; the agent names each Maildir file after the delivery (queue id,
recipient, destination), so a retry finds the earlier copy instead of
writing a second one: the test counts duplicates and expects none.

BULWARK_DURABILITY_SEED=N replays a run's random choices.
"""

import collections
import contextlib
import os
import random
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

import bulwark_harness as bh

DOMAIN = bh.DOMAIN
USER = "bwdurable"
SENDER = "stream@example.org"
BULWARKCTL = bh.BUILD_DIR / "bulwarkctl"
MAILQ = bh.BUILD_DIR / "mailq"

MESSAGES = 300          # markers in the stream
SENDERS = 6             # connections at once
PACE = 0.25             # s: a sender's mean pause between two messages
STREAM_LIMIT = 45.0     # s: the stream stops here whatever happened
KILL_GAP = (0.4, 1.6)   # s between two kills
MASTER_KILLS = 2        # crashes of the whole master per run
DRAIN_LIMIT = 60.0      # s for the queue to empty once the killing stops
MIN_ACKED = 100         # fewer acknowledged: the run proved too little

MARKER_RX = re.compile(rb"^X-Durable-Marker: (\S+)\r?$", re.M)


@pytest.fixture(scope="module")
def home():
    if bh.skip_reason() is not None:
        pytest.skip(bh.skip_reason())
    for p in (BULWARKCTL, MAILQ):
        if not p.exists():
            pytest.skip(f"{p} is missing: build first")
    d = Path(tempfile.mkdtemp(prefix="bulwark-e2e-durable-"))
    os.chmod(d, 0o755)
    try:
        bh.useradd(USER, d / USER)
        yield d / USER
    finally:
        bh.userdel(USER)
        shutil.rmtree(d, ignore_errors=True)


def message(run, marker):
    return (f"From: <{SENDER}>\r\nTo: <{USER}@{DOMAIN}>\r\n"
            f"Subject: durability {marker}\r\n"
            f"X-Durable-Marker: {run}-{marker}\r\n\r\n"
            f"marker {run}-{marker}\r\n").encode()


class Stream:
    """SENDERS threads take markers from one counter and send each once;
    a marker is acknowledged when its DATA was answered 250."""

    def __init__(self, port, run, rng):
        self.port, self.run = port, run
        self.next = 0
        self.acked, self.failed = set(), collections.Counter()
        self.lock = threading.Lock()
        self.deadline = time.monotonic() + STREAM_LIMIT
        self.pauses = [rng.expovariate(1 / PACE) for _ in range(MESSAGES)]
        self.threads = [threading.Thread(target=self.sender, daemon=True)
                        for _ in range(SENDERS)]

    def take(self):
        with self.lock:
            if self.next >= MESSAGES or time.monotonic() > self.deadline:
                return None
            self.next += 1
            return self.next - 1

    def sender(self):
        s = None
        while (i := self.take()) is not None:
            time.sleep(self.pauses[i])
            try:
                if s is None:
                    s = smtplib.SMTP("127.0.0.1", self.port, timeout=10)
                    s.ehlo("stream.example.org")
                s.sendmail(SENDER, [f"{USER}@{DOMAIN}"],
                           message(self.run, i))
            except (OSError, smtplib.SMTPException) as e:
                # not acknowledged: it may arrive or not
                with self.lock:
                    self.failed[type(e).__name__] += 1
                with contextlib.suppress(Exception):
                    s.close()
                s = None
                time.sleep(0.1)
                continue
            with self.lock:
                self.acked.add(f"{self.run}-{i}")
        if s is not None:
            with contextlib.suppress(Exception):
                s.quit()

    def start(self):
        for t in self.threads:
            t.start()

    def running(self):
        return any(t.is_alive() for t in self.threads)

    def join(self):
        for t in self.threads:
            t.join(STREAM_LIMIT + 30)
            assert not t.is_alive(), "a sender hangs"


def delivery_children(local):
    """The delivery processes bulwark-local (pids local) forked; only
    /proc/PID/stat is read, to be quick: they live for milliseconds."""
    out = []
    for pid in bh.all_pids():
        try:
            with open(f"/proc/{pid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        if int(s[s.rindex(")") + 2:].split()[1]) in local:
            out.append(pid)
    return out


def kill_one(b, what):
    """SIGKILL to the one process what names; True if one was there."""
    if what == "local-child":
        # they live for milliseconds: watch for one a little while
        local = {p.pid for p in b.daemons("deliver-local")}
        deadline = time.monotonic() + 0.5
        while not (pids := delivery_children(local)) and \
                time.monotonic() < deadline:
            time.sleep(0.002)
    else:
        pids = [p.pid for p in b.daemons(what)]
    if not pids:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(random.choice(pids), signal.SIGKILL)
    return True


def killer(b, stream, rng, kills):
    """Kills at random moments while the stream runs. The master is
    crashed MASTER_KILLS times, spread over the stream."""
    expected = MESSAGES * PACE / SENDERS     # s the stream should last
    crash_at = sorted(rng.uniform(0.1, 0.75) * expected
                      for _ in range(MASTER_KILLS))
    t0 = time.monotonic()
    while stream.running():
        time.sleep(rng.uniform(*KILL_GAP))
        if not stream.running():
            break
        if crash_at and time.monotonic() - t0 >= crash_at[0]:
            crash_at.pop(0)
            left = b.crash()
            assert not left, f"daemons outlived their master: {left}"
            kills["master"] += 1
            b.start(timeout=20)
            continue
        what = rng.choices(["qmgr", "deliver-local", "local-child"],
                           weights=[4, 3, 2])[0]
        if kill_one(b, what):
            kills[what] += 1


def queue_empty(b):
    r = subprocess.run([str(MAILQ), "-C", str(b.conf)], capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    return r.returncode == 0 and r.stdout == "Mail queue is empty\n"


def ctl_queue(b):
    r = subprocess.run([str(BULWARKCTL), "-f", str(b.conf), "queue"],
                       capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, (r.stdout, r.stderr)
    return r.stdout


def markers(maildir):
    """{marker: copies} of every message delivered (new/ and cur/)."""
    found = collections.Counter()
    for sub in ("new", "cur"):
        d = maildir / sub
        if not d.is_dir():
            continue
        for f in d.iterdir():
            m = MARKER_RX.search(f.read_bytes())
            assert m, f"{f} has no marker"
            found[m.group(1).decode()] += 1
    return found


def test_acknowledged_mail_survives_kills(home):
    seed = int(os.environ.get("BULWARK_DURABILITY_SEED") or
               random.randrange(1 << 30))
    rng = random.Random(seed)
    run = f"r{seed}"
    b = bh.Bulwark(extra=["queue-retry-min 1s", "queue-retry-max 2s"])
    try:
        b.start()
        stream = Stream(b.port, run, rng)
        kills = collections.Counter()
        stream.start()
        try:
            killer(b, stream, rng, kills)
        finally:
            stream.join()
        if not b.alive():           # a crash at the very end
            b.start(timeout=20)
        b.wait_ready(20)
        bh.wait_until(lambda: queue_empty(b), DRAIN_LIMIT, interval=0.5,
                      what="the queue to empty")
        listing = ctl_queue(b)
        assert not re.search(r"^[0-9A-F]{16}", listing, re.M), listing
        found = markers(home / "Maildir")
        lost = sorted(stream.acked - set(found))
        dups = {m: n for m, n in found.items() if n > 1}
        strangers = set(found) - {f"{run}-{i}" for i in range(MESSAGES)}
        # retries that found the copy of a try whose answer was lost
        averted = len(re.findall(r"an earlier try delivered it", b.log()))
        print(f"\ndurability seed={seed}: sent={stream.next} "
              f"acked={len(stream.acked)} not acked={dict(stream.failed)} "
              f"delivered={len(found)} duplicates={len(dups)} "
              f"averted={averted} lost={len(lost)} kills={dict(kills)}")
        assert not lost, f"acknowledged but never delivered: {lost}"
        assert not strangers, strangers
        assert not dups, f"delivered more than once: {dups}"
        assert len(stream.acked) >= MIN_ACKED, \
            f"only {len(stream.acked)} acknowledged: the run proved little"
        assert sum(kills.values()) >= 5 and kills["master"] >= 1, kills
    except BaseException:
        print(f"durability seed={seed}")
        with contextlib.suppress(Exception):
            print(b.log_tail(150))
        raise
    finally:
        bh.finish(b)
