"""Issue 5, the delivery side: what lands in users' mailboxes, end to end.

Test users (bwlalice with a Maildir, bwlbob with an mbox, bwlcarol for
the refused mailboxes, bwldave on a small tmpfs; made with useradd in a
temporary base directory and removed afterwards) get mail over SMTP:
byte for byte as sent but for the two trace headers, read back by
Python's mailbox module and by Dovecot's IMAP server (started here on a
loopback port with a throwaway configuration), 200 messages at once to
one mbox and to one Maildir, mailboxes that are links or someone else's
refused, a full disk deferred and delivered once when there is room
again, and envelope text with shell metacharacters reaching no command
and no file.
"""

import concurrent.futures
import contextlib
import imaplib
import mailbox
import os
import pwd
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import bulwark_harness as bh
import local_mta
from test_aliases import maildir_new, with_subject

DOMAIN = bh.DOMAIN
ALICE, BOB, CAROL, DAVE = "bwlalice", "bwlbob", "bwlcarol", "bwldave"
USERS = (ALICE, BOB, CAROL)
SENDER = "sender@example.org"
WAIT = 20.0
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


useradd = local_mta.useradd


@pytest.fixture(scope="module")
def base():
    if bh.skip_reason() is not None:
        pytest.skip(bh.skip_reason())
    d = Path(tempfile.mkdtemp(prefix="bulwark-e2e-local-"))
    os.chmod(d, 0o755)
    try:
        for u in USERS:
            useradd(u, d / u)
        (d / "mail").mkdir(mode=0o755)      # root's, like /var/mail
        (d / "files").mkdir()
        os.chmod(d / "files", 0o1777)       # a command could write here
        yield d
    finally:
        for u in USERS:
            bh.userdel(u)
        shutil.rmtree(d, ignore_errors=True)


def start(base, extra):
    return local_mta.start(
        base, f"postmaster: {ALICE}\n"
        f"logcmd: \"|/usr/bin/printf '%s\\n' \\\"$RECIPIENT\\\" >> "
        f"{base}/files/recipients; cat > /dev/null\"\n", extra)


finish = local_mta.finish


@pytest.fixture(scope="module")
def maildir_mta(base):
    b = start(base, [])
    yield b
    finish(b)


@pytest.fixture(scope="module")
def mbox_mta(base):
    b = start(base, ["delivery-format mbox",
                     f"mbox-path {base}/mail/%u"])
    yield b
    finish(b)


def message(subject, body):
    """A message as a client sends it: CRLF lines."""
    text = (f"From: Sender <{SENDER}>\r\nTo: <rcpt@{DOMAIN}>\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n"
            f"\r\n{body}")
    return text.encode()


def send_raw(b, rcpts, msg):
    with smtplib.SMTP("127.0.0.1", b.port, timeout=20) as s:
        refused = s.sendmail(SENDER, rcpts, msg)
    assert refused == {}, refused


def stored(rcpt, msg):
    """What the mailbox holds for msg: the trace headers, LF lines."""
    return (f"Return-Path: <{SENDER}>\nDelivered-To: {rcpt}\n".encode() +
            msg.replace(b"\r\n", b"\n"))


def unreceived(content):
    """content without the Received: header smtpd added (the one header
    added besides Return-Path and Delivered-To), which must be there."""
    out, n = re.subn(rb"(?m)^Received: from .*\n(?:[ \t].*\n)*", b"",
                     content, count=1)
    assert n == 1, content[:300]
    return out


def mbox_path(base, user):
    return base / "mail" / user


def mbox_subjects(path):
    return [m["Subject"] for m in mailbox.mbox(str(path))]


def unquote_mboxrd(body):
    return re.sub(r"(?m)^>(>*From )", r"\1", body)


BODY = ("Hello,\r\nFrom the start of a line\r\n>From quoted once\r\n"
        ".a line with a dot\r\n..two dots\r\n\r\nbye\r\n")


# --- Maildir -----------------------------------------------------------------------

def test_maildir_message_is_as_sent(maildir_mta, base):
    rcpt = f"{ALICE}@{DOMAIN}"
    msgs = [message(f"asis-{i}", BODY + f"number {i}\r\n") for i in range(3)]
    for m in msgs:
        send_raw(maildir_mta, [rcpt], m)
    uid = pwd.getpwnam(ALICE).pw_uid
    files = bh.wait_until(
        lambda: (lambda f: f if len(f) == 3 else None)(
            [f for f in maildir_new(base, ALICE) if b"Subject: asis-" in
             f.read_bytes()]), WAIT, what="three messages in new/")
    contents = sorted(unreceived(f.read_bytes()) for f in files)
    assert contents == sorted(stored(rcpt, m) for m in msgs)
    for f in files:
        st = f.stat()
        assert st.st_uid == uid and st.st_mode & 0o777 == 0o600
    md = mailbox.Maildir(str(base / ALICE / "Maildir"), create=False)
    got = {m["Subject"]: m for m in md}
    for i in range(3):
        m = got[f"asis-{i}"]
        assert m["Return-Path"] == f"<{SENDER}>"
        assert m.get_payload() == (BODY + f"number {i}\r\n").replace(
            "\r\n", "\n")


# --- mbox ---------------------------------------------------------------------------

def test_mbox_reads_back_intact(mbox_mta, base):
    rcpt = f"{BOB}@{DOMAIN}"
    path = mbox_path(base, BOB)
    # each delivered before the next is sent: separate messages may be
    # delivered in any order, appends are in the order delivered
    for i in range(3):
        send_raw(mbox_mta, [rcpt], message(f"mbox-{i}", BODY))
        bh.wait_until(lambda: path.exists() and sum(
            s.startswith("mbox-") for s in mbox_subjects(path)) == i + 1,
            WAIT, what=f"{i + 1} messages in the mbox")
    st = path.stat()
    assert st.st_uid == pwd.getpwnam(BOB).pw_uid
    assert st.st_mode & 0o777 == 0o600
    msgs = [m for m in mailbox.mbox(str(path))
            if m["Subject"].startswith("mbox-")]
    assert [m["Subject"] for m in msgs] == ["mbox-0", "mbox-1", "mbox-2"]
    for m in msgs:
        assert m.get_from().startswith(SENDER + " ")
        # mboxrd: the writer added a '>' that a reader takes away
        assert unquote_mboxrd(m.get_payload()) == BODY.replace("\r\n",
                                                               "\n")
    assert path.read_bytes().endswith(b"bye\n\n")


# --- Dovecot ------------------------------------------------------------------------

def dovecot_conf(d, port, base):
    bob_mbox = mbox_path(base, BOB)
    lines = []
    for u, mail in ((ALICE, "maildir:~/Maildir"),
                    (BOB, f"mbox:~/imapmail:INBOX={bob_mbox}")):
        pw = pwd.getpwnam(u)
        lines.append(f"{u}:{{PLAIN}}secret-{u}:{pw.pw_uid}:{pw.pw_gid}::"
                     f"{pw.pw_dir}::userdb_mail={mail}")
    (d / "passwd").write_text("\n".join(lines) + "\n")
    os.chmod(d / "passwd", 0o644)
    (d / "dovecot.conf").write_text(f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mbox_read_locks = fcntl
mbox_write_locks = fcntl
mail_privileged_group =
first_valid_uid = 100
passdb {{
  driver = passwd-file
  args = {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = {d}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
""")
    return d / "dovecot.conf"


@pytest.fixture
def dovecot(base):
    if not os.access(DOVECOT, os.X_OK):
        pytest.skip("dovecot is not installed (Debian's dovecot-imapd; "
                    "scripts/setup.sh installs it)")
    d = Path(tempfile.mkdtemp(prefix="bulwark-e2e-dovecot-"))
    os.chmod(d, 0o755)
    port = bh.free_port()
    conf = dovecot_conf(d, port, base)
    p = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)

    def up():
        if p.poll() is not None:
            raise AssertionError("dovecot exited: " +
                                 p.stdout.read().decode(errors="replace"))
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        return False
    try:
        bh.wait_until(up, 15, what="dovecot to listen")
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, 15)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            p.wait(5)
        log = d / "dovecot.log"
        if log.exists() and os.environ.get("BULWARK_E2E_VERBOSE"):
            print(log.read_text())
        shutil.rmtree(d, ignore_errors=True)


def imap_messages(port, user):
    """{subject: (header, body)} of INBOX, fetched over IMAP."""
    with imaplib.IMAP4("127.0.0.1", port) as m:
        m.login(user, f"secret-{user}")
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK", data
        typ, data = m.search(None, "ALL")
        assert typ == "OK"
        out = {}
        for num in data[0].split():
            typ, parts = m.fetch(num, "(RFC822)")
            assert typ == "OK"
            raw = parts[0][1].replace(b"\r\n", b"\n")
            head, _, body = raw.partition(b"\n\n")
            s = re.search(rb"(?m)^Subject: (.*)$", head)
            out[s.group(1).decode()] = (head, body)
        m.logout()
    return out


def test_dovecot_reads_both_formats(maildir_mta, mbox_mta, base, dovecot):
    sa = message("imap-maildir", BODY)
    sb = message("imap-mbox", BODY)
    send_raw(maildir_mta, [f"{ALICE}@{DOMAIN}"], sa)
    send_raw(mbox_mta, [f"{BOB}@{DOMAIN}"], sb)
    bh.wait_until(lambda: with_subject(maildir_new(base, ALICE),
                                       "imap-maildir"), WAIT,
                  what="the Maildir message")
    bh.wait_until(lambda: "imap-mbox" in mbox_subjects(mbox_path(base, BOB)),
                  WAIT, what="the mbox message")
    # the Maildir: every message Python sees, byte for byte
    got = imap_messages(dovecot, ALICE)
    files = {m["Subject"]: m for m in
             mailbox.Maildir(str(base / ALICE / "Maildir"), create=False)}
    assert set(files) <= set(got)
    head, body = got["imap-maildir"]
    assert unreceived(head + b"\n\n" + body) == stored(f"{ALICE}@{DOMAIN}",
                                                         sa)
    # the mbox: the same messages as Python's reader, bodies intact
    got = imap_messages(dovecot, BOB)
    subjects = mbox_subjects(mbox_path(base, BOB))
    assert sorted(got) == sorted(subjects)
    head, body = got["imap-mbox"]
    assert unquote_mboxrd(body.decode()).rstrip("\n") == BODY.replace(
        "\r\n", "\n").rstrip("\n")
    assert f"Delivered-To: {BOB}@{DOMAIN}".encode() in head


# --- many at once -------------------------------------------------------------------

def send_many(b, rcpt, tag, n=200, clients=8):
    def one(i):
        send_raw(b, [rcpt], message(f"{tag}-{i}", f"From {i}\r\n" +
                                    f"line {i}\r\n" * (i % 7 + 1)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(n)))


def test_200_at_once_to_one_mbox(mbox_mta, base):
    path = mbox_path(base, BOB)
    send_many(mbox_mta, f"{BOB}@{DOMAIN}", "many")

    def mine():
        return [m for m in mailbox.mbox(str(path))
                if m["Subject"].startswith("many-")]
    bh.wait_until(lambda: len(mine()) >= 200, 90,
                  what="200 messages in the mbox")
    msgs = mine()
    assert len(msgs) == 200
    assert sorted(int(m["Subject"][5:]) for m in msgs) == list(range(200))
    for m in msgs:
        i = int(m["Subject"][5:])
        assert unquote_mboxrd(m.get_payload()) == (
            f"From {i}\n" + f"line {i}\n" * (i % 7 + 1))


def test_200_at_once_to_one_maildir(maildir_mta, base):
    send_many(maildir_mta, f"{ALICE}@{DOMAIN}", "burst")

    def mine():
        return [f for f in maildir_new(base, ALICE)
                if b"Subject: burst-" in f.read_bytes()]
    bh.wait_until(lambda: len(mine()) >= 200, 90,
                  what="200 messages in the Maildir")
    files = mine()
    assert len(files) == 200 and len({f.name for f in files}) == 200
    subjects = sorted(int(re.search(rb"Subject: burst-(\d+)",
                                    f.read_bytes()).group(1))
                      for f in files)
    assert subjects == list(range(200))
    assert not list((base / ALICE / "Maildir" / "tmp").iterdir())


# --- mailboxes that must not be written -----------------------------------------------

def refused(b, base, subject, victim):
    """Sends to carol; the delivery must bounce 5.2.0 and leave victim
    (what her mailbox path points to) as it was."""
    before = victim.read_bytes()
    mark = b.log_mark()
    send_raw(b, [f"{CAROL}@{DOMAIN}"], message(subject, "x\r\n"))
    b.wait_for_log(rf"to=<{CAROL}@{DOMAIN}> status=bounced dsn=5\.2\.0",
                   timeout=WAIT, since=mark)
    assert victim.read_bytes() == before
    return b.log(mark)


@pytest.fixture
def carol_box(base):
    path = mbox_path(base, CAROL)
    victim = base / "victim"
    victim.write_text("root's file\n")
    yield path, victim
    for p in (path, victim):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def test_symlinked_mbox_is_refused(mbox_mta, base, carol_box):
    path, victim = carol_box
    os.symlink(victim, path)
    log = refused(mbox_mta, base, "symlinked", victim)
    assert "is a symbolic link" in log


def test_hard_linked_mbox_is_refused(mbox_mta, base, carol_box):
    path, victim = carol_box
    pw = pwd.getpwnam(CAROL)
    os.chown(victim, pw.pw_uid, pw.pw_gid)  # hers, but with a 2nd name
    os.link(victim, path)
    log = refused(mbox_mta, base, "hardlinked", victim)
    assert "has more than one link" in log


def test_mbox_of_another_user_is_refused(mbox_mta, base, carol_box):
    path, victim = carol_box
    pw = pwd.getpwnam(BOB)
    shutil.copy(victim, path)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(path, 0o666)                   # even one she could write
    log = refused(mbox_mta, base, "others", path)
    assert "is not owned by the recipient" in log


# --- a full disk -----------------------------------------------------------------------

@pytest.fixture
def small_disk(base):
    """A 512 KiB tmpfs holding dave's home and mbox; unmounted after."""
    mnt = base / "tmpfs"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                        "size=512k,mode=0755", "bulwark-test", str(mnt)],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        mnt.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        (mnt / "mail").mkdir(mode=0o755)
        useradd(DAVE, mnt / DAVE)
        yield mnt
    finally:
        bh.userdel(DAVE)
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True,
                       timeout=30)
        with contextlib.suppress(OSError):
            mnt.rmdir()


def test_full_disk_defers_then_delivers_once(base, small_disk):
    b = start(base, ["delivery-format mbox",
                     f"mbox-path {small_disk}/mail/%u",
                     "queue-retry-min 1", "queue-retry-max 2"])
    try:
        rcpt = f"{DAVE}@{DOMAIN}"
        box = small_disk / "mail" / DAVE
        send_raw(b, [rcpt], message("room", "small\r\n"))
        bh.wait_until(lambda: box.exists() and box.stat().st_size > 0,
                      WAIT, what="the first message")
        size = box.stat().st_size
        # leave about 64 KiB free and send 200 KiB
        filler = small_disk / "filler"
        free = os.statvfs(small_disk)
        with open(filler, "wb") as f:
            f.write(b"x" * (free.f_bavail * free.f_frsize - 64 * 1024))
        mark = b.log_mark()
        big = "".join(f"line {i:06d} of a big message\r\n"
                      for i in range(200 * 1024 // 32))
        send_raw(b, [rcpt], message("big", big))
        b.wait_for_log(rf"to=<{rcpt}> status=deferred dsn=4\.3\.1 .*No "
                       "space left on device", timeout=WAIT, since=mark)
        assert box.stat().st_size == size       # no part of it kept
        assert mbox_subjects(box) == ["room"]
        filler.unlink()
        b.wait_for_log(rf"qmgr.*to=<{rcpt}> status=sent", timeout=WAIT,
                       since=mark)
        msgs = list(mailbox.mbox(str(box)))
        assert [m["Subject"] for m in msgs] == ["room", "big"]
        assert msgs[1].get_payload() == big.replace("\r\n", "\n")
        time.sleep(2.5)                         # past another retry
        assert mbox_subjects(box) == ["room", "big"]
    finally:
        finish(b)


# --- envelope text is never a command nor a file ----------------------------------------

EVIL_DETAILS = [
    ";touch${IFS}%s", "$(touch %s)", "`touch %s`", "|touch %s",
    "'%s'", "a&&touch %s", "x>%s",
]


def rcpt_reply(b, addr):
    with smtplib.SMTP("127.0.0.1", b.port, timeout=10) as s:
        s.ehlo("client.example.test")
        assert s.mail(SENDER)[0] == 250
        return s.rcpt(addr)


def test_shell_metacharacters_reach_no_command(maildir_mta, base):
    marks = base / "files" / "marks"
    marks.mkdir()
    os.chmod(marks, 0o777)          # so that an injected touch could work
    accepted = []
    for i, d in enumerate(EVIL_DETAILS):
        detail = d % f"{marks}/m{i}"
        local = '"logcmd+' + detail.replace("\\", "\\\\").replace(
            '"', '\\"') + '"'
        code, text = rcpt_reply(maildir_mta, f"{local}@{DOMAIN}")
        assert code in (250, 550, 553, 501), (local, code, text)
        if code == 250:
            accepted.append((local, detail))
    assert accepted, "no address with metacharacters was accepted at all"
    mark = maildir_mta.log_mark()
    for local, _ in accepted:
        send_raw(maildir_mta, [f"{local}@{DOMAIN}"], message("evil", "x\r\n"))
    out = base / "files" / "recipients"
    bh.wait_until(lambda: out.exists() and
                  len(out.read_text().splitlines()) >= len(accepted),
                  WAIT, what="the command's log of recipients")
    time.sleep(0.3)
    seen = out.read_text().splitlines()
    # each reached the command as data, exactly as it was written
    for local, detail in accepted:
        assert any(detail in line for line in seen), (detail, seen)
    assert list(marks.iterdir()) == [], "a shell ran envelope text"
    assert not maildir_mta.log_has(r"status=bounced", since=mark)


def test_pipe_and_path_addresses_are_refused(maildir_mta, base):
    target = base / "files" / "created-by-rcpt"
    for addr in (f'"|touch {target}"@{DOMAIN}', f'"{target}"@{DOMAIN}',
                 f'"|/bin/sh -c touch\\ {target}"@{DOMAIN}',
                 f"\\{ALICE}@{DOMAIN}"):
        code, text = rcpt_reply(maildir_mta, addr)
        assert code >= 500, (addr, code, text)
    time.sleep(0.3)
    assert not target.exists()


def test_newline_in_an_address_is_refused(maildir_mta, base):
    """SMTP has no way to carry a newline in an address: a bare LF in the
    command is refused, and a CRLF ends the command (the rest is another,
    unknown command)."""
    target = base / "files" / "created-by-newline"
    with socket.create_connection(("127.0.0.1", maildir_mta.port), 10) as s:
        f = s.makefile("rwb")
        assert f.readline().startswith(b"220")
        f.write(b"EHLO client.example.test\r\n")
        f.flush()
        while not f.readline().startswith(b"250 "):
            pass
        f.write(b"MAIL FROM:<" + SENDER.encode() + b">\r\n")
        f.flush()
        assert f.readline().startswith(b"250")
        f.write(f"RCPT TO:<{ALICE}\n|touch {target}@{DOMAIN}>\r\n".encode())
        f.flush()
        assert f.readline()[:1] == b"5"
        f.write(f"RCPT TO:<\"{ALICE}\r\n|touch {target}\"@{DOMAIN}>\r\n"
                .encode())
        f.flush()
        assert f.readline()[:1] == b"5"
        assert f.readline()[:1] == b"5"
    assert not target.exists()
