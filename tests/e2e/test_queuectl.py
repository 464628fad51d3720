"""Issue 4, the operations part: the queue control socket, bulwarkctl and
mailq, end to end.

A test user (bwqalice) whose ~/Maildir is a plain file makes every
delivery to her fail temporarily ("Not a directory"); queue-retry-min is
an hour, so such a message stays deferred until a test flushes it.
Removing the file lets the next attempt deliver. A second user (bwqbob)
runs the clients without privileges (setpriv): he may list his own
messages and nothing else. Both users are made with useradd in a
temporary directory and removed afterwards.
"""

import contextlib
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import stat
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

import bulwark_harness as bh
from conftest import _finish, _start

DOMAIN = bh.DOMAIN
ALICE, BOB = "bwqalice", "bwqbob"
BULWARKCTL = bh.BUILD_DIR / "bulwarkctl"
MAILQ = bh.BUILD_DIR / "mailq"
TIMEOUT = 15.0

# sysexits.h
EX_OK, EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_NOPERM = 0, 64, 65, 66, 77

# proto.h: the control requests
CQ_IDENT, CQ_LIST, CQ_SHOW, CQ_FLUSH, CQ_HOLD = 400, 401, 402, 403, 404
CQ_DELETE, CQ_COUNTERS = 406, 407
CQ_OK, CQ_ERROR, CQ_LIST_REPLY = 450, 451, 452


# --- users --------------------------------------------------------------------

@pytest.fixture(scope="module")
def homes():
    if bh.skip_reason() is not None:
        pytest.skip(bh.skip_reason())
    if not BULWARKCTL.exists() or not MAILQ.exists():
        pytest.skip(f"{BULWARKCTL} or {MAILQ} is missing: build first")
    d = Path(tempfile.mkdtemp(prefix="bulwark-e2e-queuectl-"))
    os.chmod(d, 0o755)
    try:
        for u in (ALICE, BOB):
            bh.useradd(u, d / u)
        yield d
    finally:
        for u in (ALICE, BOB):
            bh.userdel(u)
        shutil.rmtree(d, ignore_errors=True)


def break_maildir(homes, user=ALICE):
    """~/Maildir as a plain file: every delivery fails temporarily."""
    md = homes / user / "Maildir"
    if md.is_dir():
        shutil.rmtree(md)
    md.write_text("not a directory\n")


def mend_maildir(homes, user=ALICE):
    md = homes / user / "Maildir"
    if md.is_file():
        md.unlink()


def delivered(homes, subject, user=ALICE):
    d = homes / user / "Maildir" / "new"
    if not d.is_dir():
        return []
    return [f for f in d.iterdir() if f"Subject: {subject}\n" in
            f.read_text(errors="replace")]


@pytest.fixture
def mta(homes, request):
    """A master of its own (its qmgr is killed, its queue changed), with
    its directory readable by the unprivileged user."""
    b = bh.Bulwark(extra=["queue-retry-min 3600", "queue-retry-max 3600"])
    os.chmod(b.dir, 0o755)
    break_maildir(homes)
    yield _start(b)
    _finish(b, request)


# --- helpers --------------------------------------------------------------------

def send(b, sender, rcpt, subject):
    """One message over SMTP; returns its queue id."""
    msg = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject}@example.org>\r\n\r\nhello\r\n")
    with smtplib.SMTP("127.0.0.1", b.port, timeout=10) as s:
        s.ehlo("client.example.test")
        assert s.mail(sender)[0] == 250
        assert s.rcpt(rcpt)[0] == 250
        code, text = s.data(msg)
    assert code == 250, text
    return re.search(rb"queued as ([0-9A-F]{16})", text).group(1).decode()


def deferred(b, qid, since=0):
    b.wait_for_log(rf"qid={qid} to=<[^>]*> status=deferred", TIMEOUT,
                   since=since)


def as_user(user, argv):
    pw = pwd.getpwnam(user)
    return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
            "--clear-groups", "--"] + argv


def ctl(b, *args, user=None):
    argv = [str(BULWARKCTL), "-f", str(b.conf)] + list(args)
    if user is not None:
        argv = as_user(user, argv)
    return subprocess.run(argv, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def mailq(b, user=None):
    argv = [str(MAILQ), "-C", str(b.conf)]
    if user is not None:
        argv = as_user(user, argv)
    return subprocess.run(argv, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def ok(r):
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r.stdout


def spool_has(b, d, qid):
    return (b.spool / "queue" / d / qid).exists()


def mailq_entries(text):
    """{qid: (mark, sender, [reasons], [recipients])} from mailq's output."""
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^([0-9A-F]{16})([ !*]) +(\d+) (.{19}) +(\S+)$", line)
        if m:
            cur = m.group(1)
            out[cur] = (m.group(2), m.group(5), [], [])
        elif cur and re.match(r"^ *\((.*)\)$", line):
            out[cur][2].append(re.match(r"^ *\((.*)\)$", line).group(1))
        elif cur and line.startswith(" " * 41) and line.strip():
            out[cur][3].append(line.strip())
    return out


# --- listing -------------------------------------------------------------------

def test_mailq_lists_a_deferred_message(mta):
    mark = mta.log_mark()
    qid = send(mta, "sender@example.org", f"{ALICE}@{DOMAIN}", "listed")
    deferred(mta, qid, mark)
    out = ok(mailq(mta))
    lines = out.splitlines()
    assert lines[0] == ("-Queue ID-  --Size-- ----Arrival Time---- "
                        "-Sender/Recipient-------")
    entries = mailq_entries(out)
    assert list(entries) == [qid]
    mark_, sender, reasons, rcpts = entries[qid]
    assert (mark_, sender, rcpts) == (" ", "sender@example.org",
                                      [f"{ALICE}@{DOMAIN}"])
    assert len(reasons) == 1 and "Not a directory" in reasons[0], out
    assert lines[-1] == "-- 1 Kbytes in 1 Request.", out

    out = ok(ctl(mta, "queue"))
    assert re.search(rf"^qid={qid} status=queued size=\d+ arrival=\"[^\"]+\" "
                     r"from=<sender@example\.org> nrcpt=1$", out, re.M), out
    assert re.search(rf"^  to=<{ALICE}@{DOMAIN}> state=deferred attempts=1 "
                     r"next=\"[^\"]+\" dsn=4\.3\.0 reason=\"[^\"]*Not a "
                     r"directory\"$", out, re.M), out
    assert out.splitlines()[-1].startswith("1 message, ")
    # a search that matches nothing lists nothing
    assert ok(ctl(mta, "queue", "nobody-at-all")) == "queue is empty\n"
    assert qid in ok(ctl(mta, "queue", ALICE.upper()))


def test_empty_queue(mta):
    assert ok(mailq(mta)) == "Mail queue is empty\n"
    assert ok(ctl(mta, "queue")) == "queue is empty\n"


def test_show(mta):
    mark = mta.log_mark()
    qid = send(mta, "sender@example.org", f"{ALICE}@{DOMAIN}", "shown")
    deferred(mta, qid, mark)
    out = ok(ctl(mta, "show", qid))
    assert re.search(rf"^qid: +{qid}$", out, re.M), out
    assert re.search(r"^sender: +<sender@example\.org>$", out, re.M), out
    assert re.search(r"^client: +127\.0\.0\.1$", out, re.M), out
    assert re.search(rf"^recipient: +to=<{ALICE}@{DOMAIN}> state=deferred",
                     out, re.M), out
    # the header follows a blank line, in LF lines
    head = out.split("\n\n", 1)[1]
    assert "Subject: shown\n" in head and "\r" not in head, out
    assert "hello" not in head, "the body is not shown"
    r = ctl(mta, "show", "0123456789ABCDEF")
    assert r.returncode == EX_NOINPUT and "no such message" in r.stderr
    r = ctl(mta, "show", "not-a-qid")
    assert r.returncode == EX_USAGE


# --- changes -------------------------------------------------------------------

def test_hold_survives_flush_and_restart_release_delivers(mta, homes):
    mark = mta.log_mark()
    qid = send(mta, "sender@example.org", f"{ALICE}@{DOMAIN}", "heldmsg")
    deferred(mta, qid, mark)

    assert ok(ctl(mta, "hold", qid)) == f"{qid}: held\n"
    mta.wait_for_log(rf"qid={qid} from=<sender@example\.org> status=held "
                     r"reason=\"by uid 0 pid \d+\"", since=mark)
    assert spool_has(mta, "hold", qid) and not spool_has(mta, "env", qid)
    assert mailq_entries(ok(mailq(mta)))[qid][0] == "!"
    assert f"qid={qid} status=held" in ok(ctl(mta, "queue"))
    assert ok(ctl(mta, "hold", qid)) == f"{qid}: already on hold\n"

    # the mailbox works again, but a held message stays put, flushed or not
    mend_maildir(homes)
    mark = mta.log_mark()
    r = ctl(mta, "flush", qid)
    assert r.returncode == EX_DATAERR and "on hold" in r.stderr, r
    ok(ctl(mta, "flush"))
    mta.wait_for_log(r"queue: flush of \d+ messages", since=mark)

    # and stays held across a restart of qmgr
    old = mta.daemon("qmgr").pid
    os.kill(old, signal.SIGKILL)
    mta.wait_daemons("qmgr", 1, exclude=(old,), timeout=5)
    mta.wait_for_log(r"queue: 1 messages recovered", since=mark)
    bh.wait_until(lambda: mailq(mta).returncode == 0, 5, what="mailq")
    assert mailq_entries(ok(mailq(mta)))[qid][0] == "!"
    assert not mta.log_has(rf"qid={qid} to=.* status=", since=mark)
    assert not delivered(homes, "heldmsg")

    mark = mta.log_mark()
    assert ok(ctl(mta, "release", qid)) == f"{qid}: released\n"
    mta.wait_for_log(rf"qid={qid} from=<sender@example\.org> "
                     r"status=released", since=mark)
    assert spool_has(mta, "env", qid) and not spool_has(mta, "hold", qid)
    assert ok(ctl(mta, "release", qid)) == f"{qid}: was not on hold\n"
    assert ok(ctl(mta, "flush", qid)) == f"{qid}: 1 message flushed\n"
    mta.wait_for_log(rf"qid={qid} to=<{ALICE}@{DOMAIN}> status=sent",
                     TIMEOUT, since=mark)
    assert delivered(homes, "heldmsg")
    bh.wait_until(lambda: ok(mailq(mta)) == "Mail queue is empty\n", 5,
                  what="an empty queue")


def test_flush_all_delivers_promptly(mta, homes):
    mark = mta.log_mark()
    q1 = send(mta, "sender@example.org", f"{ALICE}@{DOMAIN}", "flush1")
    q2 = send(mta, "sender@example.org", f"{ALICE}@{DOMAIN}", "flush2")
    deferred(mta, q1, mark)
    deferred(mta, q2, mark)
    mend_maildir(homes)
    assert ok(ctl(mta, "flush")) == "2 messages flushed\n"
    for q in (q1, q2):
        mta.wait_for_log(rf"qid={q} to=<{ALICE}@{DOMAIN}> status=sent",
                         TIMEOUT, since=mark)


def test_delete(mta):
    mark = mta.log_mark()
    qid = send(mta, "sender@example.org", f"{ALICE}@{DOMAIN}", "deleted")
    deferred(mta, qid, mark)
    assert spool_has(mta, "env", qid) and spool_has(mta, "msg", qid)
    assert ok(ctl(mta, "delete", qid)) == f"{qid}: deleted\n"
    mta.wait_for_log(rf"qid={qid} from=<sender@example\.org> nrcpt=1 "
                     r"status=deleted reason=\"by uid 0 pid \d+\"",
                     since=mark)
    assert not spool_has(mta, "env", qid) and not spool_has(mta, "msg", qid)
    assert qid not in ok(mailq(mta))
    r = ctl(mta, "delete", qid)
    assert r.returncode == EX_NOINPUT and "no such message" in r.stderr
    # a held message can be deleted too
    q2 = send(mta, "sender@example.org", f"{ALICE}@{DOMAIN}", "deleted2")
    deferred(mta, q2, mark)
    ok(ctl(mta, "hold", q2))
    ok(ctl(mta, "delete", q2))
    assert not spool_has(mta, "hold", q2) and not spool_has(mta, "msg", q2)
    assert ok(mailq(mta)) == "Mail queue is empty\n"


def counters(b):
    out = ok(ctl(b, "counters"))
    return {k: int(v) for k, v in (line.split() for line in
                                   out.splitlines())}


def test_counters(mta, homes):
    c0 = counters(mta)
    assert set(c0) == {"received", "delivered", "deferred", "bounced",
                       "queued", "held", "active", "uptime"}
    assert c0["queued"] == 0 and c0["held"] == 0
    mark = mta.log_mark()
    q1 = send(mta, "sender@example.org", f"{ALICE}@{DOMAIN}", "count1")
    q2 = send(mta, "sender@example.org", f"{ALICE}@{DOMAIN}", "count2")
    deferred(mta, q1, mark)
    deferred(mta, q2, mark)
    ok(ctl(mta, "hold", q2))
    c1 = counters(mta)
    assert c1["received"] - c0["received"] == 2
    assert c1["deferred"] - c0["deferred"] == 2
    assert (c1["queued"], c1["held"]) == (2, 1)
    mend_maildir(homes)
    ok(ctl(mta, "flush", q1))
    mta.wait_for_log(rf"qid={q1} .*status=removed", TIMEOUT, since=mark)
    c2 = counters(mta)
    assert c2["delivered"] - c1["delivered"] == 1
    assert (c2["queued"], c2["held"]) == (1, 1)


# --- who may do what -----------------------------------------------------------

def test_unprivileged_user_lists_only_own_messages(mta):
    mark = mta.log_mark()
    mine = send(mta, f"{BOB}@{DOMAIN}", f"{ALICE}@{DOMAIN}", "bobs")
    theirs = send(mta, "sender@example.org", f"{ALICE}@{DOMAIN}", "others")
    deferred(mta, mine, mark)
    deferred(mta, theirs, mark)
    assert set(mailq_entries(ok(mailq(mta)))) == {mine, theirs}

    out = ok(mailq(mta, user=BOB))
    assert set(mailq_entries(out)) == {mine}, out
    out = ok(ctl(mta, "queue", user=BOB))
    assert mine in out and theirs not in out, out
    # the one user who sent nothing sees nothing
    assert ok(mailq(mta, user=ALICE)) == "Mail queue is empty\n"

    for args in (["flush"], ["flush", mine], ["hold", mine],
                 ["release", mine], ["delete", mine], ["show", mine],
                 ["counters"]):
        r = ctl(mta, *args, user=BOB)
        assert r.returncode == EX_NOPERM, (args, r)
        assert "permission denied" in r.stderr, (args, r.stderr)
    assert mta.log_has(r"control: client\[\d+ uid \d+\]: uid \d+ may not "
                       r"hold; refused", since=mark)
    # nothing changed
    entries = mailq_entries(ok(mailq(mta)))
    assert set(entries) == {mine, theirs}
    assert entries[mine][0] == " "


class Control:
    """A raw connection to the control socket, for the hostile tests."""

    def __init__(self, b):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.settimeout(10)
        self.s.connect(str(b.spool / "public" / "control"))

    @staticmethod
    def frame(mtype, payload=b"", flags=0, length=None):
        n = len(payload) if length is None else length
        return struct.pack("<HHI", mtype, flags, n) + payload

    @staticmethod
    def string(s):
        b = s.encode()
        return struct.pack("<I", len(b)) + b

    def ask(self, data):
        self.s.send(data)
        return self.s.recv(70000)

    def close(self):
        self.s.close()


def _answer(data):
    mtype, _, n = struct.unpack("<HHI", data[:8])
    return mtype, data[8:8 + n]


IDENT_SCRIPT = """
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(10)
s.connect(sys.argv[1])
def ask(t, p):
    s.send(struct.pack("<HHI", t, 0, len(p)) + p)
    d = s.recv(70000)
    return struct.unpack("<HHI", d[:8])[0]
name = sys.argv[2].encode()
print(ask(400, struct.pack("<I", len(name)) + name))
print(ask(401, struct.pack("<I", 0) + struct.pack("<I", 0)))
"""


def test_login_is_checked_against_the_uid(mta):
    """A client that claims to be someone else is refused, and without an
    accepted claim a list is refused too."""
    sock = str(mta.spool / "public" / "control")
    for claim, want in (("root", [CQ_ERROR, CQ_ERROR]),
                        (ALICE, [CQ_ERROR, CQ_ERROR]),
                        (BOB, [CQ_OK, CQ_LIST_REPLY])):
        r = subprocess.run(as_user(BOB, ["/usr/bin/python3", "-c",
                                         IDENT_SCRIPT, sock, claim]),
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [str(w) for w in want], (claim, r.stdout)
    assert mta.log_has(rf"uid \d+ is not user {ALICE}; refused")


def test_garbage_does_not_hurt_qmgr(mta, homes):
    qmgr = mta.daemon("qmgr").pid
    mark = mta.log_mark()
    # an unknown request in the request range is answered, not fatal
    c = Control(mta)
    t, p = _answer(c.ask(Control.frame(449)))
    assert t == CQ_ERROR and b"unknown request" in p
    # a malformed request is answered, then the client dropped
    t, p = _answer(c.ask(Control.frame(CQ_HOLD, b"\x05\x00\x00\x00ab")))
    assert t == CQ_ERROR and b"malformed hold request" in p
    assert c.s.recv(70000) == b"", "dropped after the answer"
    c.close()
    # frames the framing refuses: dropped at once
    for junk in (b"x", b"\x00" * 7, Control.frame(999),
                 Control.frame(CQ_LIST, length=70000),
                 Control.frame(CQ_LIST, flags=1),
                 Control.frame(CQ_LIST, b"\xff" * 2000),
                 b""):
        c = Control(mta)
        c.s.send(junk)
        assert c.s.recv(70000) == b""
        c.close()
    # asking twice without reading: dropped, not flooded
    c = Control(mta)
    for _ in range(50):
        with contextlib.suppress(OSError):
            c.s.send(Control.frame(CQ_COUNTERS))
    c.close()
    # a client that connects and says nothing does not block others
    idle = Control(mta)
    assert mta.daemon("qmgr").pid == qmgr
    assert ok(mailq(mta)) == "Mail queue is empty\n"
    # qmgr still delivers
    mend_maildir(homes)
    qid = send(mta, "sender@example.org", f"{ALICE}@{DOMAIN}", "after")
    mta.wait_for_log(rf"qid={qid} to=<{ALICE}@{DOMAIN}> status=sent",
                     TIMEOUT, since=mark)
    idle.close()
    assert mta.daemon("qmgr").pid == qmgr
    assert not mta.log_has(r"qmgr.* (killed|exited)", since=mark)


def test_control_socket_is_the_masters(homes, request):
    """root's 0666 socket in root's 0755 public/; a stale one (the master
    was SIGKILLed) is replaced at the next start; gone after a stop, and
    then the client says so."""
    b = bh.Bulwark()
    _start(b)
    p = b.spool / "public"
    st = os.stat(p)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o755)
    st = os.lstat(p / "control")
    assert stat.S_ISSOCK(st.st_mode)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o666)

    b.kill_everything()
    assert (p / "control").exists(), "a SIGKILLed master leaves it"
    r = ctl(b, "queue")
    assert r.returncode == 69 and "is bulwark running?" in r.stderr, r
    b.start()
    assert ok(mailq(b)) == "Mail queue is empty\n"

    assert b.stop() == 0
    assert not (p / "control").exists()
    r = ctl(b, "counters")
    assert r.returncode == 69 and "is bulwark running?" in r.stderr, r
    _finish(b, request)


def test_table_is_bulwark_table(tmp_path):
    src = tmp_path / "map"
    src.write_text("key1 value1\n")
    r = subprocess.run([str(BULWARKCTL), "table", "build", str(src)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(bh.BUILD_DIR / "bulwark-table"), "get",
                        str(src), "key1"], capture_output=True, text=True,
                       timeout=30)
    assert (r.returncode, r.stdout) == (0, "value1\n")


def test_long_list_comes_in_pages(mta):
    """More than one answer frame's worth of queue: every message is
    listed once, in queue id order, across pages."""
    mark = mta.log_mark()
    rcpts = [f"{ALICE}+{i}@{DOMAIN}" for i in range(250)]
    qids = []
    for n in range(3):
        msg = f"Subject: paged{n}\r\n\r\nhello\r\n"
        with smtplib.SMTP("127.0.0.1", mta.port, timeout=30) as s:
            s.ehlo("client.example.test")
            assert s.mail("sender@example.org")[0] == 250
            for r in rcpts:
                assert s.rcpt(r)[0] == 250
            code, text = s.data(msg)
        assert code == 250, text
        qids.append(re.search(rb"queued as ([0-9A-F]{16})",
                              text).group(1).decode())
    for q in qids:
        mta.wait_for_log(rf"qid={q} to=<{ALICE}\+249@{DOMAIN}> "
                         r"status=deferred", 60, since=mark)
    out = ok(ctl(mta, "queue"))
    assert re.findall(r"^qid=([0-9A-F]{16})", out, re.M) == sorted(qids)
    assert len(re.findall(r"^  to=", out, re.M)) == 750
    entries = mailq_entries(ok(mailq(mta)))
    assert list(entries) == sorted(qids)
    assert all(len(e[3]) == 250 for e in entries.values())
