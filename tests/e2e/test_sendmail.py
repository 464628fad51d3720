"""sendmail(1) end to end: submission over SPOOL/public/submit as the
calling user, -t with To/Cc/Bcc, -f and who may use it, -bs, the lone
dot, mailq/newaliases by name and by option, -q, and the maildrop: with
the master stopped sendmail still takes the message, and qmgr delivers
it at the next start; a damaged maildrop file goes to corrupt/.

The sendmail under test is a copy of the build's, made set-group-id
_bulwarkdrop by this module (as an installation makes it), with mailq
and newaliases as symbolic links to it. Three throwaway users (useradd)
send and receive; the clients run as them with setpriv.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import bulwark_harness as bh
from conftest import _finish, _start

DOMAIN = bh.DOMAIN
ALICE, BOB, CAROL = "bwsmalice", "bwsmbob", "bwsmcarol"
SENDMAIL = bh.BUILD_DIR / "sendmail"
NEWALIASES = bh.BUILD_DIR / "newaliases"
TIMEOUT = 15.0

# sysexits.h
EX_OK, EX_USAGE, EX_NOPERM, EX_TEMPFAIL = 0, 64, 77, 75


@pytest.fixture(scope="module")
def world():
    """Users with homes, and the set-group-id sendmail with its links."""
    if bh.skip_reason() is not None:
        pytest.skip(bh.skip_reason())
    if not SENDMAIL.exists():
        pytest.skip(f"{SENDMAIL} is missing: build first")
    d = Path(tempfile.mkdtemp(prefix="bulwark-e2e-sendmail-"))
    os.chmod(d, 0o755)
    try:
        for u in (ALICE, BOB, CAROL):
            bh.useradd(u, d / u)
        sm = d / "bin" / "sendmail"
        sm.parent.mkdir()
        shutil.copy(SENDMAIL, sm)
        try:
            shutil.chown(sm, "root", "_bulwarkdrop")
            os.chmod(sm, 0o2755)
        except LookupError:
            pytest.skip("group _bulwarkdrop is missing (scripts/setup.sh)")
        for name in ("mailq", "newaliases"):
            (sm.parent / name).symlink_to("sendmail")
        yield d
    finally:
        for u in (ALICE, BOB, CAROL):
            bh.userdel(u)
        shutil.rmtree(d, ignore_errors=True)


def new_master(world):
    (world / "aliases").write_text(f"postmaster: {ALICE}\n")
    b = bh.Bulwark(extra=[f"alias-table hash:{world}/aliases"])
    os.chmod(b.dir, 0o755)
    r = subprocess.run([str(NEWALIASES), "-f", str(b.conf)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return b


@pytest.fixture(scope="module")
def mta(world, request):
    """One master for the tests that only send through it."""
    b = _start(new_master(world))
    yield b
    _finish(b, request)


# --- helpers ----------------------------------------------------------------

def as_user(user, argv):
    pw = pwd.getpwnam(user)
    return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
            "--clear-groups", "--"] + argv


def sendmail(world, b, args, text="", user=None, name="sendmail"):
    argv = [str(world / "bin" / name)] + list(args)
    if user is not None:
        argv = as_user(user, argv)
    env = dict(os.environ, BULWARK_CONFIG=str(b.conf))
    return subprocess.run(argv, input=text, capture_output=True, text=True,
                          timeout=30, env=env)


def copies(world, user, subject):
    """The delivered messages of user with this subject."""
    d = world / user / "Maildir" / "new"
    if not d.is_dir():
        return []
    return [t for t in (f.read_text(errors="replace") for f in d.iterdir())
            if f"Subject: {subject}\n" in t]


def delivered(world, user, subject, n=1):
    bh.wait_until(lambda: len(copies(world, user, subject)) >= n, TIMEOUT,
                  what=f"{subject} in {user}'s Maildir")
    got = copies(world, user, subject)
    assert len(got) == n, got
    return got[0]


def header_block(text):
    return text.split("\n\n", 1)[0]


def uid(user):
    return pwd.getpwnam(user).pw_uid


# --- submission -------------------------------------------------------------

def test_t_delivers_to_to_cc_bcc_without_bcc(world, mta):
    msg = (f"To: Bob <{BOB}@{DOMAIN}>\n"
           f"Cc: (a comment) {CAROL}@{DOMAIN}, friends:;\n"
           f"Bcc: \"Alice, herself\" <{ALICE}@{DOMAIN}>\n"
           "Subject: sm-t\n\nhello all\n")
    r = sendmail(world, mta, ["-t", "-oi"], msg, user=ALICE)
    assert r.returncode == EX_OK, r.stderr
    for u in (ALICE, BOB, CAROL):
        text = delivered(world, u, "sm-t")
        head = header_block(text)
        assert "bcc:" not in head.lower(), head
        assert f"Delivered-To: {u}@{DOMAIN}" in head
        assert f"(Bulwark, from userid {uid(ALICE)})" in head
        # sendmail added From:, smtpd Date: and Message-ID:
        assert f"From: {ALICE}@{DOMAIN}" in head
        assert "\nDate: " in head and "\nMessage-ID: <" in head
        assert text.endswith("hello all\n")


def test_f_by_root_and_by_a_user(world, mta):
    r = sendmail(world, mta, ["-f", "robot@example.org", "-F", "The Robot",
                              f"{BOB}@{DOMAIN}"], "Subject: sm-root-f\n\nx\n")
    assert r.returncode == EX_OK, r.stderr
    head = header_block(delivered(world, BOB, "sm-root-f"))
    assert "Return-Path: <robot@example.org>" in head
    assert 'From: "The Robot" <robot@example.org>' in head

    r = sendmail(world, mta, ["-f", f"{BOB}@{DOMAIN}", f"{CAROL}@{DOMAIN}"],
                 "Subject: sm-forged\n\nx\n", user=ALICE)
    assert r.returncode == EX_NOPERM, (r.returncode, r.stderr)
    assert "5.7.1" in r.stderr

    # her own address, and a bare name qualified with the local domain
    r = sendmail(world, mta, ["-f", ALICE, CAROL], "Subject: sm-own\n\nx\n",
                 user=ALICE)
    assert r.returncode == EX_OK, r.stderr
    head = header_block(delivered(world, CAROL, "sm-own"))
    assert f"Return-Path: <{ALICE}@{DOMAIN}>" in head
    assert copies(world, CAROL, "sm-forged") == []


def test_refused_recipient_and_usage(world, mta):
    r = sendmail(world, mta, [f"nosuchuser@{DOMAIN}"], "Subject: sm-x\n\nx\n",
                 user=ALICE)
    assert r.returncode == 67, r.stderr             # EX_NOUSER
    assert "5.1.1" in r.stderr
    r = sendmail(world, mta, ["-t"], "Subject: none\n\nx\n", user=ALICE)
    assert r.returncode == EX_USAGE and "no recipient" in r.stderr
    r = sendmail(world, mta, ["-Z", BOB], "", user=ALICE)
    assert r.returncode == EX_USAGE


def test_lone_dot_ends_input_unless_i(world, mta):
    text = "Subject: sm-dot{}\n\nbefore\n.\nafter\n"
    r = sendmail(world, mta, [BOB], text.format(1), user=ALICE)
    assert r.returncode == EX_OK, r.stderr
    body = delivered(world, BOB, "sm-dot1").split("\n\n", 1)[1]
    assert body == "before\n"
    r = sendmail(world, mta, ["-i", BOB], text.format(2), user=ALICE)
    assert r.returncode == EX_OK, r.stderr
    body = delivered(world, BOB, "sm-dot2").split("\n\n", 1)[1]
    assert body == "before\n.\nafter\n"


def smtp_step(p, line, expect):
    """Send one line on -bs's standard input; read its reply."""
    if line is not None:
        p.stdin.write(line + "\r\n")
        p.stdin.flush()
    while True:
        reply = p.stdout.readline()
        assert reply, "sendmail -bs closed its output"
        if reply[3:4] != "-":
            break
    assert reply.startswith(str(expect)), (line, reply)
    return reply


def test_bs_speaks_smtp(world, mta):
    argv = as_user(ALICE, [str(world / "bin" / "sendmail"), "-bs"])
    env = dict(os.environ, BULWARK_CONFIG=str(mta.conf))
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, env=env)
    try:
        smtp_step(p, None, 220)
        smtp_step(p, "EHLO client", 250)
        smtp_step(p, f"MAIL FROM:<{BOB}@{DOMAIN}>", 553)   # not hers
        smtp_step(p, f"MAIL FROM:<{ALICE}@{DOMAIN}>", 250)
        smtp_step(p, f"RCPT TO:<{BOB}@{DOMAIN}>", 250)
        smtp_step(p, "DATA", 354)
        p.stdin.write("Subject: sm-bs\r\n\r\n..dotted\r\n")
        reply = smtp_step(p, ".", 250)
        assert "queued as" in reply
        smtp_step(p, "QUIT", 221)
        p.stdin.close()
        assert p.wait(10) == EX_OK
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    text = delivered(world, BOB, "sm-bs")
    assert f"(Bulwark, from userid {uid(ALICE)})" in text
    assert text.endswith("\n.dotted\n")


def test_mailq_and_newaliases_by_name_and_option(world, mta):
    for args, name in ((["-bp"], "sendmail"), ([], "mailq")):
        r = sendmail(world, mta, args, name=name)
        assert r.returncode == EX_OK, r.stderr
        assert "Mail queue is empty" in r.stdout or "Queue ID" in r.stdout
    db = world / "aliases.db"
    for args, name in ((["-bi"], "sendmail"), ([], "newaliases")):
        before = db.stat().st_mtime_ns
        time.sleep(0.02)
        r = sendmail(world, mta, args, name=name)
        assert r.returncode == EX_OK, r.stderr
        assert db.stat().st_mtime_ns != before


def test_q_flushes_for_root_only(world, mta):
    r = sendmail(world, mta, ["-q"])
    assert r.returncode == EX_OK, r.stderr
    r = sendmail(world, mta, ["-q"], user=ALICE)
    assert r.returncode == EX_NOPERM, (r.returncode, r.stderr)
    r = sendmail(world, mta, ["-q30m"], user=ALICE)
    assert r.returncode == EX_OK


# --- the maildrop -------------------------------------------------------------

def maildrop(b):
    return b.spool / "queue" / "maildrop"


def test_maildrop_while_stopped(world, request):
    b = new_master(world)
    _start(b)
    b.stop()
    try:
        st = maildrop(b).stat()
        assert oct(st.st_mode & 0o7777) == oct(0o1730)
        # a forged sender in the maildrop becomes hers, as smtpd would
        # have refused it
        r = sendmail(world, b, ["-t", "-f", f"{BOB}@{DOMAIN}"],
                     f"To: {BOB}@{DOMAIN}\nBcc: {CAROL}@{DOMAIN}\n"
                     "Subject: sm-drop\n\nkept\n", user=ALICE)
        assert r.returncode == EX_OK, r.stderr
        assert "queued" in r.stderr
        files = list(maildrop(b).iterdir())
        assert len(files) == 1 and files[0].stat().st_uid == uid(ALICE)
        r = sendmail(world, b, ["-bs"], user=ALICE)
        assert r.returncode == EX_TEMPFAIL and r.stdout.startswith("421 ")
        (maildrop(b) / "garbage").write_text("not a maildrop file\n")
        _start(b)
        for u in (BOB, CAROL):
            head = header_block(delivered(world, u, "sm-drop"))
            assert f"Return-Path: <{ALICE}@{DOMAIN}>" in head
            assert "bcc:" not in head.lower()
            assert f"(Bulwark, from userid {uid(ALICE)})" in head
        assert list(maildrop(b).iterdir()) == []
        assert (b.spool / "queue" / "corrupt" /
                "maildrop.garbage").exists()
        assert b.log_has(r"status=sender-replaced")
        # qmgr went on: the same process takes a new message
        qmgr = b.daemon("qmgr").pid
        r = sendmail(world, b, [CAROL], "Subject: sm-after\n\nx\n",
                     user=ALICE)
        assert r.returncode == EX_OK, r.stderr
        delivered(world, CAROL, "sm-after")
        assert b.daemon("qmgr").pid == qmgr
    finally:
        _finish(b, request)
