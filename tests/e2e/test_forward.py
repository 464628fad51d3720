"""Issue 5: users' ~/.forward files, end to end.

Three test users (bwfalice, bwfbob, bwfcarol, made with useradd in a
temporary base directory and removed afterwards) get mail over SMTP while
their .forward files send it to each other, to a file, to a command, to
their own mailbox with a copy elsewhere (\\user), or are refused: a
.forward others may write, or a link to a file only root may read (it is
read as the user), is ignored and the mail goes to the mailbox; a loop
between two .forward files is bounced, not followed for ever. A retry of
a recipient whose aliases reached one mailbox and one deferring command
gives the mailbox no second copy.
"""

import contextlib
import os
import pwd
import shutil
import smtplib
import tempfile
import time
from pathlib import Path

import pytest

import bulwark_harness as bh
import local_mta
from test_aliases import maildir_new, with_subject

DOMAIN = bh.DOMAIN
ALICE, BOB, CAROL = "bwfalice", "bwfbob", "bwfcarol"
USERS = (ALICE, BOB, CAROL)
WAIT = 15.0


@pytest.fixture(scope="module")
def base():
    if bh.skip_reason() is not None:
        pytest.skip(bh.skip_reason())
    d = Path(tempfile.mkdtemp(prefix="bulwark-e2e-forward-"))
    os.chmod(d, 0o755)
    try:
        for u in USERS:
            local_mta.useradd(u, d / u)
        yield d
    finally:
        for u in USERS:
            bh.userdel(u)
        shutil.rmtree(d, ignore_errors=True)


def start(base, extra=()):
    """A master with an alias table (a command that defers until a flag
    file exists) and the given configuration lines."""
    flag = base / "flag"
    files = base / "files"          # alias commands run as nobody
    files.mkdir(exist_ok=True)
    nobody = pwd.getpwnam("nobody")
    os.chown(files, nobody.pw_uid, nobody.pw_gid)
    return local_mta.start(base, f"postmaster: {ALICE}\n"
                           f"mixed: {CAROL}, \"|test -e {flag} || exit 75; "
                           f"cat >> {files}/mixed.out\"\n",
                           ["queue-retry-min 1", "queue-retry-max 2",
                            *extra])


finish = local_mta.finish


@pytest.fixture(scope="module")
def mta(base):
    b = start(base)
    yield b
    finish(b)


def forward(base, user, text, mode=0o600):
    """Writes user's .forward as the user would (owned by the user)."""
    pw = pwd.getpwnam(user)
    f = base / user / ".forward"
    with contextlib.suppress(FileNotFoundError):
        f.unlink()
    f.write_text(text)
    os.chown(f, pw.pw_uid, pw.pw_gid)
    os.chmod(f, mode)
    return f


@pytest.fixture(autouse=True)
def no_forwards(base):
    yield
    for u in USERS:
        with contextlib.suppress(FileNotFoundError):
            (base / u / ".forward").unlink()


def got(base, user, subject):
    return with_subject(maildir_new(base, user), subject)


def wait_got(base, user, subject, count=1):
    bh.wait_until(lambda: len(got(base, user, subject)) >= count, WAIT,
                  what=f"{subject} for {user}")
    assert len(got(base, user, subject)) == count


def send(b, rcpts, subject, body="hello\r\n"):
    """Sends one message, every recipient accepted; returns its queue
    id, so that a wait is for this message and not an earlier one still
    on its way (a retry from an earlier test, on a slow machine)."""
    msg = (f"From: sender@example.org\r\nTo: list\r\nSubject: {subject}"
           f"\r\nMessage-ID: <{subject}@example.org>\r\n\r\n{body}")
    with smtplib.SMTP("127.0.0.1", b.port, timeout=10) as s:
        s.ehlo("client.example")
        assert s.mail("sender@example.org")[0] == 250
        for r in rcpts:
            assert s.rcpt(r)[0] == 250, r
        code, text = s.data(msg.encode())
    assert code == 250, text
    return text.split()[-1].decode()


def sent(b, rcpt, mark, qid):
    """Waits for qmgr's record of the recipient's result: every
    destination done (deliver-local logs one line per destination of a
    .forward, the first of which may come before a command's end)."""
    return b.wait_for_log(rf"qmgr\[\d+\]: qid={qid} to=<{rcpt}> "
                          r"status=(sent|bounced) ", timeout=WAIT,
                          since=mark)


# --- forwarding ---------------------------------------------------------------

def test_forward_to_another_user(mta, base):
    forward(base, ALICE, f"# to bob\n{BOB}\n")
    mark = mta.log_mark()
    qid = send(mta, [f"{ALICE}@{DOMAIN}"], "fwd-user")
    wait_got(base, BOB, "fwd-user")
    sent(mta, f"{ALICE}@{DOMAIN}", mark, qid)
    assert got(base, ALICE, "fwd-user") == []
    assert mta.log_has(rf"to=<{ALICE}@{DOMAIN}> dest=user:{ALICE} "
                       rf"forwarded by ~{ALICE}/\.forward to 1 dest",
                       since=mark)
    (f,) = got(base, BOB, "fwd-user")
    assert f.stat().st_uid == pwd.getpwnam(BOB).pw_uid
    # the trace names the address the message came for
    assert f"Delivered-To: {ALICE}@{DOMAIN}\n" in f.read_text()


def test_forward_to_file_and_command(mta, base):
    out, env = base / ALICE / "cmd.out", base / ALICE / "env.out"
    archive = base / ALICE / "archive"
    forward(base, ALICE, f"{archive}\n"
            "\"|cat > $HOME/cmd.out; /usr/bin/env > $HOME/env.out\"\n")
    mark = mta.log_mark()
    qid = send(mta, [f"{ALICE}@{DOMAIN}"], "fwd-file",
               body="From me\r\nok\r\n")
    sent(mta, f"{ALICE}@{DOMAIN}", mark, qid)
    uid = pwd.getpwnam(ALICE).pw_uid
    text = archive.read_text()
    assert text.startswith("From sender@example.org ")
    assert "\n>From me\nok\n\n" in text
    for f in (archive, out, env):
        assert f.stat().st_uid == uid, f
    assert out.read_text().endswith("Subject: fwd-file\nMessage-ID: "
                                    "<fwd-file@example.org>\n\nFrom me\n"
                                    "ok\n")
    envs = dict(line.split("=", 1)
                for line in env.read_text().splitlines() if "=" in line)
    assert envs["USER"] == ALICE and envs["HOME"] == str(base / ALICE)
    assert envs["RECIPIENT"] == f"{ALICE}@{DOMAIN}"
    assert got(base, ALICE, "fwd-file") == []


def test_backslash_user_and_a_copy(mta, base):
    forward(base, ALICE, f"\\{ALICE}, {BOB}\n")
    # bob's own .forward names himself: his mailbox, not a loop
    forward(base, BOB, f"{BOB}\n")
    mark = mta.log_mark()
    qid = send(mta, [f"{ALICE}@{DOMAIN}"], "fwd-keep")
    wait_got(base, ALICE, "fwd-keep")
    wait_got(base, BOB, "fwd-keep")
    sent(mta, f"{ALICE}@{DOMAIN}", mark, qid)
    assert len(got(base, ALICE, "fwd-keep")) == 1


def test_unsafe_forward_is_ignored(mta, base):
    forward(base, ALICE, f"{BOB}\n", mode=0o664)
    mark = mta.log_mark()
    send(mta, [f"{ALICE}@{DOMAIN}"], "fwd-gw")
    wait_got(base, ALICE, "fwd-gw")
    assert mta.log_has(rf"~{ALICE}/\.forward ignored: writable by group "
                       "or others", since=mark)
    assert got(base, BOB, "fwd-gw") == []


def test_forward_is_read_as_the_user(mta, base):
    """A link to a file only root may read: root would have read it."""
    secret = base / "secret-forward"
    secret.write_text(f"{BOB}\n")
    os.chmod(secret, 0o600)
    f = base / ALICE / ".forward"
    os.symlink(secret, f)
    os.lchown(f, pwd.getpwnam(ALICE).pw_uid, -1)
    mark = mta.log_mark()
    send(mta, [f"{ALICE}@{DOMAIN}"], "fwd-secret")
    wait_got(base, ALICE, "fwd-secret")
    assert mta.log_has(rf"~{ALICE}/\.forward ignored: .*Permission "
                       "denied", since=mark)
    assert got(base, BOB, "fwd-secret") == []


def test_forward_loop_is_bounced(mta, base):
    forward(base, ALICE, f"{BOB}\n")
    forward(base, BOB, f"{ALICE}@{DOMAIN}\n")
    mark = mta.log_mark()
    send(mta, [f"{ALICE}@{DOMAIN}"], "fwd-loop")
    mta.wait_for_log(rf"to=<{ALICE}@{DOMAIN}> status=bounced dsn=5\.4\.6 "
                     rf".*\.forward loop: {ALICE} -> {BOB} -> {ALICE}",
                     timeout=WAIT, since=mark)
    time.sleep(0.5)
    log = mta.log(mark)
    assert log.count("forwarded by") == 1, log     # bob's is not followed
    assert got(base, ALICE, "fwd-loop") == got(base, BOB, "fwd-loop") == []


def test_forward_to_unknown_user_is_bounced(mta, base):
    forward(base, ALICE, "nosuchuser-bwf\n")
    mark = mta.log_mark()
    send(mta, [f"{ALICE}@{DOMAIN}"], "fwd-ghost")
    mta.wait_for_log(rf"to=<{ALICE}@{DOMAIN}> status=bounced dsn=5\.1\.1",
                     timeout=WAIT, since=mark)
    assert got(base, ALICE, "fwd-ghost") == []


def test_retry_delivers_only_what_was_deferred(mta, base):
    """mixed: carol, and a command that defers until a flag exists.
    The retry runs the command and leaves carol's one copy alone."""
    flag = base / "flag"
    with contextlib.suppress(FileNotFoundError):
        flag.unlink()
    mark = mta.log_mark()
    send(mta, [f"mixed@{DOMAIN}"], "mixed")
    mta.wait_for_log(rf"to=<mixed@{DOMAIN}> status=deferred dsn=4\.3\.0 "
                     "destinations=2 sent=1 deferred=1", timeout=WAIT,
                     since=mark)
    wait_got(base, CAROL, "mixed")
    flag.touch()
    mta.wait_for_log(rf"to=<mixed@{DOMAIN}> status=sent dsn=2\.0\.0 "
                     "destinations=2 sent=2", timeout=WAIT, since=mark)
    assert mta.log_has(rf"to=<mixed@{DOMAIN}> status=sent .*dest=user:"
                       rf"{CAROL} .*\(delivered on an earlier try\)",
                       since=mark)
    assert len(got(base, CAROL, "mixed")) == 1
    out = (base / "files" / "mixed.out").read_text()
    assert out.count("Subject: mixed\n") == 1
    assert not list((mta.spool / "delivered").iterdir())


# --- switched off -----------------------------------------------------------------

def test_forward_files_off(base):
    b = start(base, ["forward-files off"])
    try:
        forward(base, ALICE, f"{BOB}\n")
        send(b, [f"{ALICE}@{DOMAIN}"], "fwd-off")
        wait_got(base, ALICE, "fwd-off")
        assert got(base, BOB, "fwd-off") == []
    finally:
        finish(b)


def test_forward_obeys_allow_commands(base):
    b = start(base, ["allow-commands off", "allow-files off"])
    try:
        forward(base, ALICE, f"\"|touch {base}/cmd-ran\", "
                f"{base}/file-written\n")
        mark = b.log_mark()
        send(b, [f"{ALICE}@{DOMAIN}"], "fwd-nocmd")
        b.wait_for_log(rf"to=<{ALICE}@{DOMAIN}> status=bounced dsn=5\.7\.1",
                       timeout=WAIT, since=mark)
        assert not (base / "cmd-ran").exists()
        assert not (base / "file-written").exists()
    finally:
        finish(b)
