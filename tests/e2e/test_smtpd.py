"""Issue 3's acceptance list: the SMTP server (smtpd) against real clients
(Python's smtplib, raw sockets for the bytes smtplib cannot send, swaks),
looked at from the outside only: the replies, the queue on disk
(SPOOL/queue/msg/QID, the message; SPOOL/queue/env/QID, the envelope that
commits it) and the log.

Messages go to relay recipients (user@remote.example) from a trusted
client (127.0.0.1 is in trusted-networks by default): nothing delivers
them yet, so they stay in the queue, where the tests read them. Local
recipients are only used at RCPT and never sent a message.

Every reply the raw client collects is kept; the last test checks that
every one of them (but the greeting, the EHLO/HELO answer and 3xx, which
RFC 2034 section 4 exempts) starts with an enhanced status code.
"""

import asyncio
import contextlib
import email.utils
import os
import re
import resource
import signal
import smtplib
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass

import pytest

import bulwark_harness as bh

DOMAIN = bh.DOMAIN                  # example.test, local
REMOTE = "remote.example"           # anything else: relayed
CLIENT_NAME = "client.example.test"

QUEUED_RE = re.compile(r"^250 2\.0\.0 Ok: queued as ([A-Za-z0-9]+)$")
ENHANCED_RE = re.compile(r"^\d{3}[ -]\d\.\d{1,3}\.\d{1,3}( |$)")

# every reply line the raw client read: (what was sent, the reply lines)
COLLECTED = []

# 500 sessions, each with a descriptor here and one in smtpd
with contextlib.suppress(ValueError, OSError):
    _soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    _want = 4096 if _hard == resource.RLIM_INFINITY else min(4096, _hard)
    if _soft != resource.RLIM_INFINITY and _soft < _want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (_want, _hard))


# --- a raw SMTP client ------------------------------------------------------

class Closed(Exception):
    """The server closed the connection (or reset it)."""


@dataclass
class Reply:
    code: int
    lines: list             # full lines, "250-..." / "250 ..."

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def last(self):
        return self.lines[-1]

    @property
    def enh(self):
        """The enhanced status code of the first line, or None."""
        m = re.match(r"^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b", self.lines[0])
        return m.group(1) if m else None

    def __repr__(self):
        return f"Reply({self.text!r})"


class Client:
    """SMTP over a plain socket: sends exactly the bytes given, reads
    replies line by line. Every wait is bounded by timeout."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0, source=None):
        self.sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.buf = b""
        self.sent = "(greeting)"
        self.greeting = self.reply(record=False)
        assert self.greeting.code == 220, self.greeting

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sent = data[:60]
        self.sock.sendall(data)

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i != -1:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line.decode("utf-8", errors="replace")
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError as e:
                raise Closed(f"reset; pending {self.buf!r}") from e
            if not chunk:
                raise Closed(f"closed; pending {self.buf!r}")
            self.buf += chunk

    def reply(self, record=True):
        lines = []
        while True:
            line = self._line()
            assert re.match(r"^\d{3}[ -]", line), f"not a reply line: {line!r}"
            lines.append(line)
            if line[3] == " ":
                break
            assert line[:3] == lines[0][:3], f"mixed codes in {lines}"
        r = Reply(int(lines[0][:3]), lines)
        if record:
            COLLECTED.append((self.sent, lines))
        return r

    def cmd(self, line, record=True):
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply(record)

    def ehlo(self, name=CLIENT_NAME):
        r = self.cmd(f"EHLO {name}", record=False)
        assert r.code == 250, r
        return r

    def expect(self, line, code, enh=None):
        """Sends line; its reply must have code (and enh, if given)."""
        r = self.cmd(line)
        assert r.code == code, f"{line!r}: {r}"
        if enh is not None:
            assert r.enh == enh, f"{line!r}: {r}, want {enh}"
        return r

    def data(self, body):
        """DATA, then body (bytes, sent as is) and the end of data: the
        message is body, with a CRLF added if it does not end with one.
        Returns the reply to the end of data."""
        r = self.cmd("DATA")
        assert r.code == 354, f"DATA: {r}"
        self.send(body + (b".\r\n" if body.endswith(b"\r\n")
                          else b"\r\n.\r\n"))
        return self.reply()

    def wait_closed(self, timeout):
        """True if the server closes within timeout (what it still sends
        is read and kept in self.buf)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False


def qid_of(r):
    """The queue id in a 250 reply to the end of data."""
    m = QUEUED_RE.match(r.last)
    assert m, f"not a 'queued as' reply: {r}"
    return m.group(1)


# --- the queue --------------------------------------------------------------

def qdir(b, sub):
    return b.spool / "queue" / sub


def queue_ids(b, sub):
    try:
        return set(os.listdir(qdir(b, sub)))
    except FileNotFoundError:
        return set()


def snapshot(b):
    """What is queued now, and where the log is."""
    return {"msg": queue_ids(b, "msg"), "env": queue_ids(b, "env"),
            "mark": b.log_mark()}


def accepted_since(b, snap):
    """qids of smtpd's 'action=accept' lines since the snapshot."""
    return re.findall(r"bulwark/smtpd\[\d+\]: client=\S+ qid=(\S+) "
                      r"from=<[^>]*> nrcpt=\d+ size=\d+ action=accept$",
                      b.log(snap["mark"]), re.M)


def assert_nothing_queued(b, snap, settle=0.5):
    """No message accepted since snap: no accept line, no new envelope,
    and no new message file left once qmgr has had settle seconds to
    remove aborted ones."""
    def clean():
        return not (queue_ids(b, "msg") - snap["msg"])
    with contextlib.suppress(AssertionError):
        bh.wait_until(clean, settle + 3, what="aborted files to go")
    time.sleep(settle)
    assert accepted_since(b, snap) == [], b.log(snap["mark"])
    assert queue_ids(b, "env") - snap["env"] == set(), b.log(snap["mark"])
    assert queue_ids(b, "msg") - snap["msg"] == set(), b.log(snap["mark"])


def assert_queued_once(b, snap, qid):
    """Exactly one message accepted since snap, and it is qid, with its
    message file and envelope on disk."""
    assert accepted_since(b, snap) == [qid], b.log(snap["mark"])
    assert queue_ids(b, "env") - snap["env"] == {qid}
    assert qid in queue_ids(b, "msg")


def queued_message(b, qid):
    return (qdir(b, "msg") / qid).read_bytes()


def queued_envelope(b, qid):
    return (qdir(b, "env") / qid).read_bytes()


RECEIVED_RE = re.compile(
    rb"^Received: from (?P<helo>\S+) \(unknown \[(?P<addr>[^\]]+)\]\)\r\n"
    rb"\tby (?P<by>\S+) \(Bulwark\) with (?P<proto>\S+) id (?P<id>\S+)"
    rb"(?:\r\n\tfor <(?P<for>[^>]*)>)?;\r\n"
    rb"\t(?P<date>[^\r\n]+)\r\n")


def split_received(content):
    """(the Received: header's fields, the rest of the file)."""
    m = RECEIVED_RE.match(content)
    assert m, f"no Received: header in front: {content[:300]!r}"
    return m, content[m.end():]


def check_received(m, qid, rcpt=None, proto=b"ESMTP", helo=CLIENT_NAME):
    assert m.group("helo") == helo.encode(), m.group(0)
    assert m.group("addr") == b"127.0.0.1", m.group(0)
    assert m.group("by") == bh.HOSTNAME.encode(), m.group(0)
    assert m.group("proto") == proto, m.group(0)
    assert m.group("id") == qid.encode(), m.group(0)
    if rcpt is None:
        assert m.group("for") is None, m.group(0)
    else:
        assert m.group("for") == rcpt.encode(), m.group(0)
    when = email.utils.parsedate_to_datetime(m.group("date").decode())
    assert when.tzinfo is not None, m.group(0)
    assert abs(when.timestamp() - time.time()) < 300, m.group(0)


def queued_body(b, qid, rcpt=None, proto=b"ESMTP", helo=CLIENT_NAME):
    """The message as queued, with its Received: header checked and
    stripped."""
    m, rest = split_received(queued_message(b, qid))
    check_received(m, qid, rcpt, proto, helo)
    return rest


def transaction(c, body, rcpts=(f"user@{REMOTE}",), sender="a@b.example",
                mail_params=""):
    """MAIL, RCPT..., DATA, body; each step must succeed; the reply to
    the end of the data."""
    c.expect(f"MAIL FROM:<{sender}>{mail_params}", 250, "2.1.0")
    for r in rcpts:
        c.expect(f"RCPT TO:<{r}>", 250, "2.1.5")
    return c.data(body)


# --- masters ----------------------------------------------------------------

def _start(extra=(), workers=2):
    return bh.start_or_clean(bh.Bulwark(workers=workers, extra=extra))


_finish = bh.finish


def _module_master(request, extra=(), workers=2):
    b = _start(extra, workers)
    failed_before = request.session.testsfailed
    yield b
    _finish(b, request.session.testsfailed > failed_before)


@pytest.fixture(scope="module")
def srv(request):
    """The default configuration (127.0.0.1 trusted, 2 workers)."""
    yield from _module_master(request)


LIMITS = ("message-size-limit 10K", "recipient-limit 3", "error-limit 3",
          "command-timeout 3s")


@pytest.fixture(scope="module")
def srv_limits(request):
    """Small limits: 10K messages, 3 recipients, 3 errors, 3 s."""
    yield from _module_master(request, LIMITS)


@pytest.fixture(scope="module")
def srv_untrusted(request):
    """127.0.0.1, where the tests connect from, is not trusted."""
    yield from _module_master(request, ("trusted-networks 127.0.0.2/32",))


@pytest.fixture(scope="module")
def srv_normalize(request):
    yield from _module_master(request, ("bare-linefeed normalize",))


@pytest.fixture
def fresh(request):
    """A master of its own for one test: fresh(extra=(...), workers=n)."""
    made = []

    def make(extra=(), workers=2):
        b = _start(extra, workers)
        made.append(b)
        return b
    yield make
    failed = getattr(getattr(request.node, "rep_call", None), "failed",
                     False)
    for b in made:
        _finish(b, failed)


# --- a plain transaction ----------------------------------------------------

def test_plain_transaction_smtplib(srv):
    b = srv
    snap = snapshot(b)
    rcpt = f"user@{REMOTE}"
    msg = (b"From: a@b.example\r\nTo: user@remote.example\r\n"
           b"Subject: plain\r\n\r\nHello,\r\n.a line that starts with a dot"
           b"\r\n..two dots\r\n\r\nbye\r\n")
    with smtplib.SMTP("127.0.0.1", b.port, local_hostname=CLIENT_NAME,
                      timeout=10) as s:
        code, _ = s.ehlo()
        assert code == 250
        assert s.has_extn("pipelining") and s.has_extn("size") and \
            s.has_extn("8bitmime") and s.has_extn("chunking") and \
            s.has_extn("smtputf8") and s.has_extn("enhancedstatuscodes")
        # sendmail() keeps the answer to the data to itself
        answers = []
        data = s.data
        s.data = lambda m: answers.append(data(m)) or answers[-1]
        refused = s.sendmail("a@b.example", [rcpt], msg)
        assert refused == {}
        code, text = answers[0]
        assert code == 250, (code, text)
        qid = qid_of(Reply(code, [f"250 {text.decode()}"]))
        assert s.quit()[0] == 221
    assert_queued_once(b, snap, qid)
    # the Received: header, then the data exactly (dots unstuffed)
    assert queued_body(b, qid, rcpt=rcpt) == msg
    env = queued_envelope(b, qid)
    assert b"a@b.example" in env and rcpt.encode() in env
    b.wait_for_log(rf"client=127\.0\.0\.1 qid={qid} from=<a@b\.example> "
                   rf"nrcpt=1 size={len(msg)} action=accept$",
                   since=snap["mark"])


def test_plain_transaction_swaks(srv):
    b = srv
    snap = snapshot(b)
    r = subprocess.run(
        ["swaks", "--server", "127.0.0.1", "--port", str(b.port),
         "--helo", CLIENT_NAME, "--from", "swaks@b.example",
         "--to", f"swaks@{REMOTE}", "--header", "Subject: from swaks",
         "--body", "sent by swaks", "--pipeline", "--timeout", "10"],
        capture_output=True, text=True, timeout=30,
        stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"^<-+ *250 2\.0\.0 Ok: queued as ([A-Za-z0-9]+)$",
                  r.stdout, re.M)
    assert m, r.stdout
    qid = m.group(1)
    assert re.search(r"^<-+ *221 2\.0\.0", r.stdout, re.M), r.stdout
    assert_queued_once(b, snap, qid)
    body = queued_body(b, qid, rcpt=f"swaks@{REMOTE}")
    assert b"Subject: from swaks\r\n" in body
    # swaks ends its body with empty lines of its own
    assert re.search(rb"\r\n\r\nsent by swaks(\r\n)+\Z", body), body


# --- PIPELINING -------------------------------------------------------------

@pytest.mark.parametrize("size", [200, 100_000], ids=["small", "100K"])
def test_pipelined_transaction_in_one_write(srv, size):
    b = srv
    snap = snapshot(b)
    line = b"x" * 78 + b"\r\n"
    msg = b"Subject: pipelined\r\n\r\n" + line * (size // len(line))
    with Client(b.port) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<p@b.example>\r\n"
               b"RCPT TO:<one@remote.example>\r\n"
               b"RCPT TO:<two@remote.example>\r\n"
               b"DATA\r\n" + msg + b".\r\nQUIT\r\n")
        replies = [c.reply() for _ in range(6)]
        assert [r.code for r in replies] == [250, 250, 250, 354, 250, 221], \
            replies
        assert replies[0].enh == "2.1.0" and replies[1].enh == "2.1.5" and \
            replies[2].enh == "2.1.5" and replies[5].enh == "2.0.0", replies
        qid = qid_of(replies[4])
        assert c.wait_closed(5), "no close after QUIT"
        assert c.buf == b"", f"more after 221: {c.buf!r}"
    assert_queued_once(b, snap, qid)
    # two recipients: no "for <...>" in Received:
    assert queued_body(b, qid, rcpt=None) == msg


# --- BDAT -------------------------------------------------------------------



def test_bdat_chunks(srv):
    b = srv
    snap = snapshot(b)
    # a line split across chunks, CR and LF in different chunks, dots at
    # the start of lines (BDAT data is not dot-stuffed)
    chunks = [b"Subject: b", b"dat\r\n\r\n.not unstuffed\r\n..\r\nline\r",
              b"\nend\r\n"]
    assert len(chunks[0]) == 10
    with Client(b.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<bdat@b.example>", 250, "2.1.0")
        c.expect(f"RCPT TO:<bdat@{REMOTE}>", 250, "2.1.5")
        # in one write, as RFC 3030 lets a client pipeline BDAT
        c.send(b"BDAT 10\r\n" + chunks[0] +
               b"BDAT %d\r\n" % len(chunks[1]) + chunks[1] +
               b"BDAT %d LAST\r\n" % len(chunks[2]) + chunks[2])
        r1, r2, r3 = c.reply(), c.reply(), c.reply()
        assert (r1.code, r1.enh) == (250, "2.0.0"), r1
        assert (r2.code, r2.enh) == (250, "2.0.0"), r2
        qid = qid_of(r3)
        c.expect("NOOP", 250, "2.0.0")
    assert_queued_once(b, snap, qid)
    assert queued_body(b, qid, rcpt=f"bdat@{REMOTE}") == b"".join(chunks)


def test_bdat_0_last_ends_the_message(srv):
    b = srv
    snap = snapshot(b)
    chunk = b"Subject: z\r\n\r\nzero\r\n"
    with Client(b.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<bdat@b.example>", 250, "2.1.0")
        c.expect(f"RCPT TO:<bdat@{REMOTE}>", 250, "2.1.5")
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        assert c.reply().code == 250
        qid = qid_of(c.cmd("BDAT 0 LAST"))
    assert_queued_once(b, snap, qid)
    assert queued_body(b, qid, rcpt=f"bdat@{REMOTE}") == chunk


def test_bdat_then_data_is_refused(srv):
    b = srv
    snap = snapshot(b)
    with Client(b.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<bdat@b.example>", 250, "2.1.0")
        c.expect(f"RCPT TO:<bdat@{REMOTE}>", 250, "2.1.5")
        c.send(b"BDAT 10\r\n0123456789")
        assert c.reply().code == 250
        c.expect("DATA", 503, "5.5.1")
        c.expect("NOOP", 250, "2.0.0")
        c.expect("QUIT", 221, "2.0.0")
        assert c.wait_closed(3)
    assert_nothing_queued(b, snap)


def test_bdat_with_a_bare_lf_is_refused(srv):
    b = srv
    snap = snapshot(b)
    chunk = b"Subject: x\r\n\r\nbare\nlf\r\n"
    with Client(b.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<bdat@b.example>", 250, "2.1.0")
        c.expect(f"RCPT TO:<bdat@{REMOTE}>", 250, "2.1.5")
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        r = c.reply()
        assert (r.code, r.enh) == (550, "5.5.2"), r
        c.expect("NOOP", 250, "2.0.0")
    assert_nothing_queued(b, snap)


def _bdat_open(c):
    """A transaction with a queue file open and waiting for more BDAT:
    the first chunk is empty."""
    c.expect("MAIL FROM:<bdat@b.example>", 250, "2.1.0")
    c.expect(f"RCPT TO:<bdat@{REMOTE}>", 250, "2.1.5")
    c.expect("BDAT 0", 250, "2.0.0")


def test_rset_between_bdat_chunks_leaves_no_queue_file(srv):
    b = srv
    snap = snapshot(b)
    with Client(b.port) as c:
        c.ehlo()
        _bdat_open(c)
        assert len(queue_ids(b, "msg") - snap["msg"]) == 1
        c.expect("RSET", 250, "2.0.0")
        c.expect("NOOP", 250, "2.0.0")
        assert_nothing_queued(b, snap)
        c.expect("QUIT", 221, "2.0.0")


def test_quit_between_bdat_chunks_leaves_no_queue_file(srv):
    b = srv
    snap = snapshot(b)
    with Client(b.port) as c:
        c.ehlo()
        _bdat_open(c)
        assert len(queue_ids(b, "msg") - snap["msg"]) == 1
        c.expect("QUIT", 221, "2.0.0")
        assert c.wait_closed(3)
    assert_nothing_queued(b, snap)


def test_disconnect_during_data_leaves_no_queue_file(srv):
    b = srv
    snap = snapshot(b)
    with Client(b.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")
        c.expect(f"RCPT TO:<user@{REMOTE}>", 250, "2.1.5")
        c.expect("DATA", 354)
        c.send(b"Subject: cut\r\n\r\n" + b"c" * 100_000)
        bh.wait_until(lambda: queue_ids(b, "msg") - snap["msg"], 5,
                      what="the message file")
    # closed without the end of data (nor QUIT)
    assert_nothing_queued(b, snap)


# --- SIZE -------------------------------------------------------------------

def test_size_parameter_over_the_default_limit(srv):
    with Client(srv.port) as c:
        r = c.ehlo()
        m = re.search(r"^250[ -]SIZE (\d+)$", r.text, re.M)
        assert m, r
        limit = int(m.group(1))
        assert limit == 25 * 1024 * 1024
        c.expect(f"MAIL FROM:<a@b.example> SIZE={limit + 1}", 552, "5.3.4")
        c.expect(f"MAIL FROM:<a@b.example> SIZE={limit}", 250, "2.1.0")


def test_size_parameter_over_a_configured_limit(srv_limits):
    with Client(srv_limits.port) as c:
        r = c.ehlo()
        assert re.search(r"^250[ -]SIZE 10240$", r.text, re.M), r
        c.expect("MAIL FROM:<a@b.example> SIZE=10241", 552, "5.3.4")
        c.expect("MAIL FROM:<a@b.example> SIZE=" + "9" * 30, 552, "5.3.4")
        c.expect("MAIL FROM:<a@b.example> SIZE=10240", 250, "2.1.0")


def _sized(n):
    """A message of exactly n bytes: CRLF line endings, lines of at most
    100 bytes, none starting with a dot, a CRLF at the end."""
    head = b"Subject: size\r\n\r\n"
    out = [head]
    rest = n - len(head)
    while rest > 0:
        k = min(100, rest)
        if rest - k == 1:
            k -= 1          # no 1-byte line: it could not hold its CRLF
        out.append(b"y" * (k - 2) + b"\r\n")
        rest -= k
    body = b"".join(out)
    assert len(body) == n
    return body


def test_message_over_the_limit_without_size(srv_limits):
    b = srv_limits
    snap = snapshot(b)
    with Client(b.port) as c:
        c.ehlo()
        r = transaction(c, _sized(20 * 1024))
        assert (r.code, r.enh) == (552, "5.3.4"), r
        c.expect("NOOP", 250, "2.0.0")
    assert_nothing_queued(b, snap)
    b.wait_for_log(r"client=127\.0\.0\.1 qid=\S+ from=<a@b\.example> "
                   r"action=reject dsn=5\.3\.4", since=snap["mark"])


def test_message_size_limit_boundary(srv_limits):
    """The limit counts the message as received (after unstuffing, not
    the Received: header): 10240 bytes pass, 10241 do not."""
    b = srv_limits
    snap = snapshot(b)
    with Client(b.port) as c:
        c.ehlo()
        r = transaction(c, _sized(10241))
        assert (r.code, r.enh) == (552, "5.3.4"), r
        assert_nothing_queued(b, snap, settle=0.2)
        snap = snapshot(b)
        msg = _sized(10240)
        qid = qid_of(transaction(c, msg))
    assert_queued_once(b, snap, qid)
    assert queued_body(b, qid, rcpt=f"user@{REMOTE}") == msg


def test_bdat_over_the_limit(srv_limits):
    b = srv_limits
    snap = snapshot(b)
    chunk = _sized(20 * 1024)
    with Client(b.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")
        c.expect(f"RCPT TO:<user@{REMOTE}>", 250, "2.1.5")
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        r = c.reply()
        assert (r.code, r.enh) == (552, "5.3.4"), r
        c.expect("NOOP", 250, "2.0.0")
    assert_nothing_queued(b, snap)


# --- 8BITMIME and SMTPUTF8 -------------------------------------------------

def test_8bit_body_with_8bitmime(srv):
    b = srv
    snap = snapshot(b)
    msg = ("Subject: 8bit\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n"
           "Grüße aus Köln, ½ €, 日本語\r\n").encode() + \
        bytes(range(0x80, 0x100)) + b"\r\n"
    with Client(b.port) as c:
        c.ehlo()
        qid = qid_of(transaction(c, msg, mail_params=" BODY=8BITMIME"))
    assert_queued_once(b, snap, qid)
    assert queued_body(b, qid, rcpt=f"user@{REMOTE}") == msg


def test_smtputf8_message(srv):
    b = srv
    snap = snapshot(b)
    sender = "ünïcödé@example.org"
    rcpt = f"δοκιμή@{REMOTE}"
    msg = (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: Приве́т\r\n\r\n"
           "UTF-8 everywhere ✓\r\n").encode()
    with Client(b.port) as c:
        c.ehlo()
        c.expect(f"MAIL FROM:<{sender}> SMTPUTF8 BODY=8BITMIME".encode(),
                 250, "2.1.0")
        c.expect(f"RCPT TO:<{rcpt}>".encode(), 250, "2.1.5")
        qid = qid_of(c.data(msg))
    assert_queued_once(b, snap, qid)
    assert queued_body(b, qid, rcpt=rcpt, proto=b"UTF8SMTP") == msg
    # the envelope may keep them %-encoded
    env = urllib.parse.unquote_to_bytes(queued_envelope(b, qid))
    assert sender.encode() in env and rcpt.encode() in env, env


def test_utf8_address_without_smtputf8_is_refused(srv):
    b = srv
    snap = snapshot(b)
    with Client(b.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<ünïcödé@example.org>".encode(), 553, "5.6.7")
        c.expect("MAIL FROM:<ünïcödé@example.org> BODY=8BITMIME".encode(),
                 553, "5.6.7")
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")
        c.expect(f"RCPT TO:<δοκιμή@{REMOTE}>".encode(), 553, "5.6.7")
        c.expect("DATA", 554, "5.5.1")
        c.expect("QUIT", 221, "2.0.0")
    assert_nothing_queued(b, snap, settle=0.1)


# --- relaying ---------------------------------------------------------------

RELAY_FORMS = [
    # (RCPT TO path, acceptable (code, enhanced) answers)
    (f"<user%{REMOTE}@{DOMAIN}>", {(554, "5.7.1"), (550, "5.7.1")}),
    (f'<"user@{REMOTE}"@{DOMAIN}>', {(554, "5.7.1"), (550, "5.7.1")}),
    (f"<@{DOMAIN}:user@{REMOTE}>", {(554, "5.7.1"), (550, "5.7.1")}),
    (f"<user@{REMOTE}@{DOMAIN}>", {(501, "5.1.3"), (553, "5.1.3")}),
    (f"<{REMOTE}!user@{DOMAIN}>", {(554, "5.7.1"), (550, "5.7.1")}),
    (f"<user@{DOMAIN}.>", {(553, "5.1.3"), (501, "5.1.3")}),
    ("<user@[127.0.0.1]>", {(554, "5.7.1"), (550, "5.7.1")}),
    (f"<user@{REMOTE}>", {(554, "5.7.1")}),
    (f"<user@{REMOTE.upper()}>", {(554, "5.7.1")}),
]


# what no client may send, trusted or not (a source route to a remote
# domain is only relaying, which a trusted client may do)
TRICKS_ON_OUR_DOMAIN = [f for f in RELAY_FORMS[:6]
                        if not f[0].startswith("<@")]


def test_open_relay_forms_refused_from_untrusted_client(srv_untrusted):
    b = srv_untrusted
    snap = snapshot(b)
    got = {}
    with Client(b.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")
        for path, ok in RELAY_FORMS:
            r = c.cmd(f"RCPT TO:{path}")
            got[path] = r
            assert r.code != 250, f"{path} accepted: {r}"
            assert (r.code, r.enh) in ok, f"{path}: {r}, want one of {ok}"
        # nothing was accepted: there is nothing to send a message to
        c.expect("DATA", 554, "5.5.1")
    assert_nothing_queued(b, snap, settle=0.1)
    log = b.log(snap["mark"])
    assert len(re.findall(r"action=reject dsn=5\.7\.1", log)) >= 6, log


def test_local_recipients_from_untrusted_client(srv_untrusted):
    """Relay refused, but our own users are still reachable."""
    with Client(srv_untrusted.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")
        c.expect(f"RCPT TO:<root@{DOMAIN}>", 250, "2.1.5")
        c.expect(f"RCPT TO:<ROOT@{DOMAIN.upper()}>", 250, "2.1.5")
        c.expect(f"RCPT TO:<postmaster@{DOMAIN}>", 250, "2.1.5")
        c.expect(f"RCPT TO:<nosuchuser-e2e@{DOMAIN}>", 550, "5.1.1")
        c.expect("RSET", 250, "2.0.0")


def test_bare_postmaster_is_accepted(srv_untrusted):
    """RFC 5321 4.5.1: <Postmaster> without a domain must be accepted."""
    with Client(srv_untrusted.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")
        c.expect("RCPT TO:<Postmaster>", 250, "2.1.5")
        c.expect("RSET", 250, "2.0.0")


def test_relay_tricks_refused_even_from_trusted_client(srv):
    """A trick aimed at one of our domains is refused for everyone: the
    local part would be relayed by whatever delivers it."""
    with Client(srv.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")
        for path, ok in TRICKS_ON_OUR_DOMAIN:
            r = c.cmd(f"RCPT TO:{path}")
            assert r.code != 250, f"{path} accepted: {r}"
            assert (r.code, r.enh) in ok, f"{path}: {r}, want one of {ok}"
        c.expect("RSET", 250, "2.0.0")


def test_unknown_local_user(srv):
    b = srv
    mark = b.log_mark()
    with Client(b.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")
        c.expect(f"RCPT TO:<nosuchuser-e2e@{DOMAIN}>", 550, "5.1.1")
        c.expect(f"RCPT TO:<root@{DOMAIN}>", 250, "2.1.5")
        c.expect("RSET", 250, "2.0.0")
    b.wait_for_log(rf"to=<nosuchuser-e2e@{re.escape(DOMAIN)}> action=reject "
                   r"dsn=5\.1\.1", since=mark)


# --- SMTP smuggling ---------------------------------------------------------

SMUGGLE_VARIANTS = {
    "LF.LF": b"\n.\n",
    "LF.CRLF": b"\n.\r\n",
    "CR.CR": b"\r.\r",
    "CRLF.LF": b"\r\n.\n",
    "CRLF.CR": b"\r\n.\r",
    "bare-LF": b"\n",
    "bare-CR": b"\r",
}


def smuggling_body(variant):
    """A message whose body holds variant, then what would be a second
    transaction to a server that took variant as the end of the data;
    the caller's real <CRLF>.<CRLF> ends it."""
    return (b"From: a@b.example\r\nSubject: innocent\r\n\r\nfirst part" +
            variant +
            b"MAIL FROM:<smuggler@evil.example>\r\n"
            b"RCPT TO:<victim@remote.example>\r\n"
            b"DATA\r\n"
            b"From: ceo@example.test\r\nSubject: smuggled\r\n\r\n"
            b"smuggled")


@pytest.mark.parametrize("variant", list(SMUGGLE_VARIANTS))
def test_smuggling_is_one_refused_message(srv, variant):
    b = srv
    snap = snapshot(b)
    with Client(b.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")
        c.expect(f"RCPT TO:<user@{REMOTE}>", 250, "2.1.5")
        r = c.data(smuggling_body(SMUGGLE_VARIANTS[variant]))
        assert (r.code, r.enh) == (550, "5.5.2"), r
        # one answer for the whole thing: the next is NOOP's
        c.expect("NOOP", 250, "2.0.0")
        assert_nothing_queued(b, snap, settle=0.2)
        b.wait_for_log(r"action=reject dsn=5\.5\.2", since=snap["mark"])
        # the session goes on: a clean message is taken, exactly once
        snap = snapshot(b)
        clean = b"Subject: clean\r\n\r\nclean\r\n"
        qid = qid_of(transaction(c, clean))
        c.expect("QUIT", 221, "2.0.0")
    assert_queued_once(b, snap, qid)
    assert queued_body(b, qid, rcpt=f"user@{REMOTE}") == clean


@pytest.mark.parametrize("variant", list(SMUGGLE_VARIANTS))
def test_normalized_bare_lf_is_one_message(srv_normalize, variant):
    """bare-linefeed normalize: a bare LF is taken as CRLF, a bare CR as
    data (bulwark.conf(5)); either way, one message, never two."""
    b = srv_normalize
    snap = snapshot(b)
    body = smuggling_body(SMUGGLE_VARIANTS[variant])
    with Client(b.port) as c:
        c.ehlo()
        qid = qid_of(transaction(c, body))
        c.expect("NOOP", 250, "2.0.0")
    time.sleep(0.2)
    assert_queued_once(b, snap, qid)
    got = queued_body(b, qid, rcpt=f"user@{REMOTE}")
    # each bare LF became CRLF; a dot after one is data, kept
    want = re.sub(rb"(?<!\r)\n", b"\r\n", body) + b"\r\n"
    if variant.startswith("CRLF."):
        # "." then a bare LF or CR after a CRLF: not the end; the dot
        # stood at the start of a line, so it is unstuffed
        want = want.replace(b"part\r\n.", b"part\r\n")
    assert got == want, got
    assert b"MAIL FROM:<smuggler@evil.example>" in got


# --- long lines -------------------------------------------------------------

@pytest.mark.parametrize("length", [
    600,
    13000, 200_000])
def test_overlong_command_line(srv, length):
    with Client(srv.port) as c:
        c.ehlo()
        line = b"NOOP " + b"x" * (length - 5)
        r = c.cmd(line)
        assert (r.code, r.enh) == (500, "5.5.2"), r
        # one answer only, and the session goes on
        c.expect("NOOP", 250, "2.0.0")
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")
        c.expect("QUIT", 221, "2.0.0")


def test_overlong_mail_line(srv):
    with Client(srv.port) as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<a@b.example> " + "X" * 13000)
        assert (r.code, r.enh) == (500, "5.5.2"), r
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")


def test_long_text_line_in_data_is_kept(srv):
    b = srv
    snap = snapshot(b)
    long_line = bytes((0x21 + i % 94) for i in range(5000))
    long_line = long_line.replace(b".", b"-")
    msg = b"Subject: long\r\n\r\n" + long_line + b"\r\nend\r\n"
    with Client(b.port) as c:
        c.ehlo()
        qid = qid_of(transaction(c, msg))
    assert_queued_once(b, snap, qid)
    assert queued_body(b, qid, rcpt=f"user@{REMOTE}") == msg


# --- sequence ---------------------------------------------------------------

def test_out_of_sequence_commands(srv):
    b = srv
    snap = snapshot(b)
    with Client(b.port) as c:
        c.expect("MAIL FROM:<a@b.example>", 503, "5.5.1")    # before EHLO
        c.ehlo()
        c.expect(f"RCPT TO:<user@{REMOTE}>", 503, "5.5.1")   # before MAIL
        c.expect("DATA", 503, "5.5.1")                        # before MAIL
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")
        # RFC 5321 3.3 lets DATA without a valid RCPT be 503 or 554;
        # Bulwark says 554 "no valid recipients"
        c.expect("DATA", 554, "5.5.1")
        c.expect("MAIL FROM:<a@b.example>", 503, "5.5.1")    # nested
        c.expect(f"RCPT TO:<user@{REMOTE}>", 250, "2.1.5")
        c.expect("RSET", 250, "2.0.0")
        c.expect(f"RCPT TO:<user@{REMOTE}>", 503, "5.5.1")   # after RSET
        c.expect("DATA", 503, "5.5.1")
        c.expect("XYZZY", 500, "5.5.2")
        # a refused BDAT's chunk is read and dropped, never run
        c.send(b"BDAT 6\r\nQUIT\r\n")
        r = c.reply()
        assert (r.code, r.enh) == (503, "5.5.1"), r
        c.expect("NOOP", 250, "2.0.0")
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")    # RSET ended it
        c.expect("QUIT", 221, "2.0.0")
    assert_nothing_queued(b, snap, settle=0.1)


def test_null_sender_is_accepted(srv):
    b = srv
    snap = snapshot(b)
    msg = b"Subject: bounce\r\n\r\nnull sender\r\n"
    with Client(b.port) as c:
        c.ehlo()
        qid = qid_of(transaction(c, msg, sender=""))
    assert_queued_once(b, snap, qid)
    assert queued_body(b, qid, rcpt=f"user@{REMOTE}") == msg
    b.wait_for_log(rf"qid={qid} from=<> nrcpt=1 size={len(msg)} "
                   r"action=accept$", since=snap["mark"])


def test_helo_then_a_message(srv):
    b = srv
    snap = snapshot(b)
    msg = b"Subject: helo\r\n\r\nold client\r\n"
    with Client(b.port) as c:
        r = c.cmd(f"HELO {CLIENT_NAME}", record=False)
        assert r.code == 250 and len(r.lines) == 1, r
        c.expect("MAIL FROM:<a@b.example> BODY=8BITMIME", 555, "5.5.4")
        qid = qid_of(transaction(c, msg))
    assert_queued_once(b, snap, qid)
    assert queued_body(b, qid, rcpt=f"user@{REMOTE}", proto=b"SMTP") == msg


# --- limits -----------------------------------------------------------------

def test_recipient_limit(srv_limits):
    b = srv_limits
    snap = snapshot(b)
    rcpts = [f"r{i}@{REMOTE}" for i in range(3)]
    msg = b"Subject: three\r\n\r\nthree recipients\r\n"
    with Client(b.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")
        for r in rcpts:
            c.expect(f"RCPT TO:<{r}>", 250, "2.1.5")
        c.expect(f"RCPT TO:<r3@{REMOTE}>", 452, "4.5.3")
        c.expect(f"RCPT TO:<r4@{REMOTE}>", 452, "4.5.3")
        qid = qid_of(c.data(msg))
    assert_queued_once(b, snap, qid)
    assert queued_body(b, qid, rcpt=None) == msg
    env = queued_envelope(b, qid)
    for r in rcpts:
        assert r.encode() in env
    assert b"r3@" not in env
    b.wait_for_log(rf"qid={qid} from=<a@b\.example> nrcpt=3 ",
                   since=snap["mark"])


def test_idle_client_times_out(srv_limits):
    with Client(srv_limits.port) as c:
        c.ehlo()
        t0 = time.monotonic()
        c.sock.settimeout(8)
        r = c.reply()
        elapsed = time.monotonic() - t0
        assert (r.code, r.enh) == (421, "4.4.2"), r
        assert 2.5 <= elapsed <= 6, elapsed
        assert c.wait_closed(2)


def test_slow_client_is_cut_off(srv_limits):
    """command-timeout bounds the wait for a whole command, not for the
    next byte of it."""
    with Client(srv_limits.port) as c:
        c.ehlo()
        t0 = time.monotonic()
        reply_at = closed_at = None
        while closed_at is None and time.monotonic() - t0 < 9:
            try:
                c.send(b"N")
            except OSError:
                closed_at = time.monotonic() - t0
                break
            if c.wait_closed(1.0):
                closed_at = time.monotonic() - t0
            if reply_at is None and b"\r\n" in c.buf:
                reply_at = time.monotonic() - t0
        assert reply_at is not None, \
            f"no reply within 9 s of one byte a second (closed at " \
            f"{closed_at})"
        assert c.buf.startswith(b"421 4.4.2 "), c.buf
        assert reply_at <= 6, reply_at
        assert closed_at is not None and closed_at <= 7, closed_at


def test_error_limit(srv_limits):
    b = srv_limits
    mark = b.log_mark()
    with Client(b.port) as c:
        c.ehlo()
        replies = []
        with contextlib.suppress(Closed, OSError):
            for i in range(5):
                replies.append(c.cmd(f"BOGUS{i}"))
                if replies[-1].code == 421:
                    break
        assert [r.code for r in replies] == [500, 500, 500, 421], replies
        assert all(r.enh == "5.5.2" for r in replies[:3]), replies
        assert replies[3].enh is not None, replies
        assert c.wait_closed(3), "still open after 421"
    b.wait_for_log(r'action=disconnect messages=0 reason="too many errors"',
                   since=mark)


# --- 500 sessions at once ---------------------------------------------------

N_CONCURRENT = 500


class _Gate:
    """Holds every session after its EHLO until all n are there, so that
    n sessions really are open at once. A session that fails before it
    gets there still counts, so that the others are not held forever."""

    def __init__(self, n):
        self.n = n
        self.arrived = 0
        self.open = asyncio.Event()

    def arrive(self):
        self.arrived += 1
        if self.arrived >= self.n:
            self.open.set()


async def _one_session(port, i, results, gate):
    arrived = False
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except BaseException:
        gate.arrive()
        raise

    async def reply():
        lines = []
        while True:
            line = (await reader.readline()).decode(errors="replace")
            if not line:
                raise Closed(f"session {i}: closed after {lines}")
            lines.append(line.rstrip("\r\n"))
            if len(line) >= 4 and line[3] == " ":
                return lines

    try:
        assert (await reply())[0].startswith("220 ")
        for cmd, want in ((f"EHLO c{i}.example.test", "250"),
                          (None, None),
                          ("MAIL FROM:<c@b.example>", "250"),
                          (f"RCPT TO:<c{i}@{REMOTE}>", "250"),
                          ("DATA", "354")):
            if cmd is None:
                arrived = True
                gate.arrive()
                await gate.open.wait()
                continue
            writer.write(cmd.encode() + b"\r\n")
            await writer.drain()
            r = await reply()
            assert r[0].startswith(want), f"session {i}: {cmd} -> {r}"
        writer.write(b"Subject: %d\r\n\r\nsession %d\r\n.\r\n" % (i, i))
        await writer.drain()
        r = await reply()
        m = QUEUED_RE.match(r[-1])
        assert m, f"session {i}: end of data -> {r}"
        writer.write(b"QUIT\r\n")
        await writer.drain()
        r = await reply()
        assert r[0].startswith("221 "), f"session {i}: QUIT -> {r}"
        results[i] = m.group(1)
    finally:
        if not arrived:
            gate.arrive()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _many_sessions(port, n, timeout):
    results = {}
    gate = _Gate(n)

    async def all_of_them():
        return await asyncio.gather(
            *(_one_session(port, i, results, gate) for i in range(n)),
            return_exceptions=True)
    outcome = await asyncio.wait_for(all_of_them(), timeout)
    errors = [e for e in outcome if isinstance(e, BaseException)]
    return results, errors


def test_500_concurrent_sessions(fresh):
    b = fresh()
    snap = snapshot(b)
    t0 = time.monotonic()
    results, errors = asyncio.run(_many_sessions(b.port, N_CONCURRENT, 60))
    elapsed = time.monotonic() - t0
    assert not errors, f"{len(errors)} sessions failed, e.g. {errors[:3]}"
    assert len(results) == N_CONCURRENT
    qids = set(results.values())
    assert len(qids) == N_CONCURRENT, "queue ids reused"
    assert elapsed < 60
    accepted = accepted_since(b, snap)
    assert sorted(accepted) == sorted(qids)
    env = queue_ids(b, "env")
    assert qids <= env, f"missing envelopes: {sorted(qids - env)[:5]}"


# --- connection limits, over all smtpd workers ------------------------------

def _greeted(port):
    """A new connection and its first reply line."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    line = sock.makefile("rb").readline().decode()
    return sock, line


def _open_sessions(port, n):
    """n connections; returns (admitted sockets, refusal lines)."""
    kept, refused = [], []
    for _ in range(n):
        sock, line = _greeted(port)
        if line.startswith("220 "):
            kept.append(sock)
        else:
            refused.append(line)
            sock.close()
    return kept, refused


def _close_all(socks):
    for sock in socks:
        sock.close()


def test_per_ip_limit_holds_over_all_workers(fresh):
    """Three sessions from one address, wherever the kernel hands them:
    the limit is the server's, not each worker's share of it."""
    b = fresh(extra=("connection-limit-per-ip 3",
                     "trusted-networks 127.0.0.2/32"), workers=2)
    mark = b.log_mark()
    kept, refused = _open_sessions(b.port, 7)
    try:
        assert len(kept) == 3, refused
        assert len(refused) == 4
        for line in refused:
            assert line.startswith("421 4.7.0 "), line
            assert "too many connections from your address" in line
        b.wait_for_log(r"client=127\.0\.0\.1 action=refused "
                       r'reason="too many connections from your address"',
                       since=mark)
        # one ends: its place is free, on whichever worker
        kept.pop().close()
        more = bh.wait_until(
            lambda: _open_sessions(b.port, 1)[0] or None, 5,
            what="a session in the freed place")
        kept += more
        _, refused = _open_sessions(b.port, 1)
        assert len(refused) == 1
    finally:
        _close_all(kept)


def test_total_limit_holds_over_all_workers(fresh):
    """connection-limit counts every session, trusted clients too."""
    b = fresh(extra=("connection-limit 4",), workers=2)
    kept, refused = _open_sessions(b.port, 6)
    try:
        assert len(kept) == 4, refused
        assert [line.split(" Error: ")[-1].strip() for line in refused] == \
            ["too many connections"] * 2
        assert all(line.startswith("421 4.7.0 ") for line in refused)
    finally:
        _close_all(kept)


def test_dead_worker_takes_its_sessions_with_it(fresh):
    """lookup forgets the sessions of a worker killed -9: its successor
    admits the client again."""
    b = fresh(extra=("connection-limit-per-ip 2",
                     "trusted-networks 127.0.0.2/32"), workers=1)
    smtpd = b.daemon("smtpd")
    kept, refused = _open_sessions(b.port, 3)
    assert len(kept) == 2 and len(refused) == 1
    os.kill(smtpd.pid, signal.SIGKILL)
    _close_all(kept)
    b.wait_daemons("smtpd", 1, exclude=[smtpd.pid], timeout=5)

    def two_admitted():
        k, r = _open_sessions(b.port, 3)
        if len(k) == 2:
            return k, r
        _close_all(k)       # still counted: none admitted
        return None
    kept, refused = bh.wait_until(two_admitted, 5, what="two sessions again")
    _close_all(kept)
    assert len(refused) == 1


# --- smtpd killed in the middle of DATA -------------------------------------

def test_smtpd_killed_during_data(fresh):
    b = fresh(workers=1)
    smtpd = b.daemon("smtpd")
    acked = []
    with smtplib.SMTP("127.0.0.1", b.port, local_hostname=CLIENT_NAME,
                      timeout=10) as s:
        s.ehlo()
        for i in range(3):
            s.mail("a@b.example")
            s.rcpt(f"kept{i}@{REMOTE}")
            code, text = s.data(b"Subject: kept %d\r\n\r\nkept\r\n" % i)
            assert code == 250, (code, text)
            acked.append(qid_of(Reply(code, [f"250 {text.decode()}"])))
        s.quit()
    before = snapshot(b)
    assert set(acked) <= before["env"] and set(acked) <= before["msg"]

    c = Client(b.port)
    try:
        c.ehlo()
        c.expect("MAIL FROM:<a@b.example>", 250, "2.1.0")
        c.expect(f"RCPT TO:<doomed@{REMOTE}>", 250, "2.1.5")
        c.expect("DATA", 354)
        # qmgr made the file before the 354; more than smtpd's buffer of
        # data, so that some of it is in the file
        c.send(b"Subject: doomed\r\n\r\n" + (b"d" * 98 + b"\r\n") * 2000)

        def new_file():
            n = queue_ids(b, "msg") - before["msg"]
            if len(n) == 1:
                q = n.pop()
                with contextlib.suppress(FileNotFoundError):
                    if (qdir(b, "msg") / q).stat().st_size > 0:
                        return q
            return None
        doomed = bh.wait_until(new_file, 5, what="the message file")
        mark = b.log_mark()
        os.kill(smtpd.pid, signal.SIGKILL)
        assert c.wait_closed(5), "the client's connection stays open"
    finally:
        c.close()
    # never committed: no envelope, and qmgr removes the file
    assert doomed not in queue_ids(b, "env")
    bh.wait_until(lambda: doomed not in queue_ids(b, "msg"), 5,
                  what=f"qmgr to remove msg/{doomed}")
    assert queue_ids(b, "env") - before["env"] == set()
    assert queue_ids(b, "msg") - before["msg"] == set()
    b.wait_for_log(rf"qid={doomed} status=aborted", since=mark)
    # what was acknowledged is still there
    for q in acked:
        assert q in queue_ids(b, "env"), f"acknowledged {q} lost"
        assert q in queue_ids(b, "msg"), f"acknowledged {q} lost"
    # and the server is back
    b.wait_daemons("smtpd", 1, exclude=[smtpd.pid], timeout=3)
    bh.smtp_works(b.port, bh.HOSTNAME, timeout=5)


# --- the other commands, and enhanced status codes --------------------------

def test_vrfy_expn_help_noop_quit(srv):
    with Client(srv.port) as c:
        c.ehlo()
        c.expect("VRFY root", 252, "2.5.2")
        c.expect(f"VRFY <root@{DOMAIN}>", 252, "2.5.2")
        c.expect("EXPN staff", 502, "5.5.1")
        c.expect("HELP", 214, "2.0.0")
        c.expect("HELP MAIL", 214, "2.0.0")
        c.expect("NOOP", 250, "2.0.0")
        c.expect("NOOP anything at all", 250, "2.0.0")
        c.expect("RSET", 250, "2.0.0")
        c.expect("QUIT", 221, "2.0.0")
        assert c.wait_closed(3)


def test_every_reply_has_an_enhanced_status_code(srv):
    """RFC 2034 section 4: with ENHANCEDSTATUSCODES offered, every 2xx,
    4xx and 5xx reply but the greeting and the answer to EHLO/HELO starts
    with one. Checks what this test provokes and every reply the tests
    before it collected."""
    with Client(srv.port) as c:
        c.cmd("MAIL FROM:<a@b.example>")
        c.ehlo()
        for line in ("NOOP", "HELP", "VRFY x", "EXPN x", "RSET", "VRFY",
                     "EXPN", "MAIL", "MAIL FROM:", "MAIL FROM:<bad",
                     "MAIL FROM:<a@b.example> FOO=BAR",
                     "MAIL FROM:<a@b.example> SIZE=x",
                     "RCPT TO:<x@y.example>", "DATA x", "STARTTLS x",
                     "AUTH", "XYZZY"):
            c.cmd(line)
        c.cmd("MAIL FROM:<a@b.example>")
        c.cmd("RCPT TO:<x>")
        c.cmd("RCPT TO:<>")
        c.cmd(f"RCPT TO:<nosuchuser-e2e@{DOMAIN}>")
        # a BDAT whose size cannot be read ends the session
        c.cmd("BDAT 1x")
        assert c.wait_closed(3)
    checked = 0
    bad = []
    for sent, lines in COLLECTED:
        code = int(lines[0][:3])
        if code // 100 == 3:
            continue
        checked += 1
        for line in lines:
            if not ENHANCED_RE.match(line):
                bad.append((sent, line))
    assert checked >= 20
    assert not bad, f"replies without an enhanced status code: {bad}"
