"""Issue 4: deliveries run concurrently, bounded per destination.

Two aliases, slow1 and slow2, each pipe to a command that takes a
second and records how many of its kind run at once (and how many of
both); a test user (bwcalice, made with useradd in a temporary directory
and removed afterwards) has a Maildir. With destination-concurrency-limit
3, eight messages to each alias never run more than three at once per
alias, but do run three at once, and more than three in all; and mail
for bwcalice sent after them is delivered while they are still running:
a destination at its limit starves no other.
"""

import os
import shutil
import smtplib
import tempfile
import time
from pathlib import Path

import pytest

import bulwark_harness as bh
import local_mta

DOMAIN = bh.DOMAIN
ALICE = "bwcalice"
LIMIT = 3
PER_ALIAS = 8
HOLD = 1.0             # s each slow delivery takes
WAIT = 30.0

SLOW = """\
#!/bin/sh
# one delivery of alias $1: how many of it (and of all) run at once
d={files}
cat > /dev/null
exec 9>>"$d/lock"
flock 9
n=$(( $(cat "$d/cur-$1" 2>/dev/null || echo 0) + 1 ))
a=$(( $(cat "$d/cur-all" 2>/dev/null || echo 0) + 1 ))
echo $n > "$d/cur-$1"; echo $n >> "$d/seen-$1"
echo $a > "$d/cur-all"; echo $a >> "$d/seen-all"
flock -u 9
sleep {hold}
flock 9
echo $(( $(cat "$d/cur-$1") - 1 )) > "$d/cur-$1"
echo $(( $(cat "$d/cur-all") - 1 )) > "$d/cur-all"
echo x >> "$d/done-$1"
flock -u 9
"""


@pytest.fixture(scope="module")
def base():
    if bh.skip_reason() is not None:
        pytest.skip(bh.skip_reason())
    d = Path(tempfile.mkdtemp(prefix="bulwark-e2e-conc-"))
    os.chmod(d, 0o755)
    try:
        bh.useradd(ALICE, d / ALICE)
        (d / "files").mkdir()
        os.chmod(d / "files", 0o1777)       # the commands run as nobody
        (d / "slow.sh").write_text(SLOW.format(files=d / "files",
                                               hold=HOLD))
        os.chmod(d / "slow.sh", 0o755)
        yield d
    finally:
        bh.userdel(ALICE)
        shutil.rmtree(d, ignore_errors=True)


def lines(path):
    try:
        return path.read_text().split()
    except FileNotFoundError:
        return []


def test_destination_concurrency_is_bounded(base):
    files = base / "files"
    b = local_mta.start(
        base, f"slow1: \"|/bin/sh {base}/slow.sh 1\"\n"
        f"slow2: \"|/bin/sh {base}/slow.sh 2\"\n",
        [f"destination-concurrency-limit {LIMIT}"])
    try:
        with smtplib.SMTP("127.0.0.1", b.port, timeout=20) as s:
            for i in range(PER_ALIAS):
                for a in ("slow1", "slow2"):
                    s.sendmail("s@example.org", [f"{a}@{DOMAIN}"],
                               f"Subject: {a} {i}\r\n\r\nx\r\n".encode())
            t0 = time.monotonic()
            s.sendmail("s@example.org", [f"{ALICE}@{DOMAIN}"],
                       b"Subject: not starved\r\n\r\nx\r\n")
        new = base / ALICE / "Maildir" / "new"
        bh.wait_until(lambda: new.is_dir() and any(new.iterdir()), WAIT,
                      what="bwcalice's message")
        waited = time.monotonic() - t0
        slow_done = len(lines(files / "done-1")) + len(lines(files / "done-2"))
        bh.wait_until(lambda: len(lines(files / "done-1")) == PER_ALIAS and
                      len(lines(files / "done-2")) == PER_ALIAS, WAIT,
                      what="every slow delivery")
        peak = {k: max(int(n) for n in lines(files / f"seen-{k}"))
                for k in ("1", "2", "all")}
        print(f"\nconcurrency: peaks {peak}, bwcalice's message after "
              f"{waited:.2f}s with {slow_done} of {2 * PER_ALIAS} slow ones "
              f"done")
        assert peak["1"] == LIMIT and peak["2"] == LIMIT, peak
        assert peak["all"] > LIMIT, peak    # per destination, not in all
        assert slow_done < 2 * PER_ALIAS - LIMIT, \
            "bwcalice's message waited for the slow destinations"
        assert b.log_has(r"status=sent .*dest=command:")
    finally:
        local_mta.finish(b)
