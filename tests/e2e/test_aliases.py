"""Issue 5, the lookup side: aliases and virtual domains, end to end.

Two test users (bwtalice, bwtbob, made with useradd in a temporary base
directory and removed afterwards) receive mail sent over SMTP through
aliases built by newaliases (several users, nested, :include:, a loop,
+detail into a Maildir folder, a file, commands), a virtual domain (to a
local user and to a Maildir written as the virtual-user), and smtpd asks
lookup at RCPT time: an unknown user is 550, an alias 250, and a missing
alias table 451 (never "unknown"). A rebuilt table is seen after SIGHUP.

Files and commands named in aliases run as the owner of the alias table,
or as "nobody" when root owns it (as here).
"""

import concurrent.futures
import os
import pwd
import shutil
import smtplib
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import bulwark_harness as bh

DOMAIN = bh.DOMAIN                      # example.test: local
VDOMAIN = "virt.test"                   # virtual
ALICE, BOB = "bwtalice", "bwtbob"
NEWALIASES = bh.BUILD_DIR / "newaliases"
TABLE_TOOL = bh.BUILD_DIR / "bulwark-table"
DELIVERY_TIMEOUT = 15.0


# --- users and files ----------------------------------------------------------

@pytest.fixture(scope="module")
def base():
    """A world-traversable directory with the users' homes, the tables
    (lookup reads them as _bulwarkl) and a directory nobody may write."""
    if bh.skip_reason() is not None:
        pytest.skip(bh.skip_reason())
    if not NEWALIASES.exists():
        pytest.skip(f"{NEWALIASES} is missing: build first")
    d = Path(tempfile.mkdtemp(prefix="bulwark-e2e-aliases-"))
    os.chmod(d, 0o755)
    try:
        for u in (ALICE, BOB):
            bh.useradd(u, d / u)
        nobody = pwd.getpwnam("nobody")
        (d / "files").mkdir()
        os.chown(d / "files", nobody.pw_uid, nobody.pw_gid)
        (d / "vhosts").mkdir(mode=0o700)
        bob = pwd.getpwnam(BOB)
        os.chown(d / "vhosts", bob.pw_uid, bob.pw_gid)
        yield d
    finally:
        for u in (ALICE, BOB):
            bh.userdel(u)
        shutil.rmtree(d, ignore_errors=True)


def aliases_text(base):
    files = base / "files"
    return f"""\
# aliases for the end-to-end tests
postmaster: {ALICE}
root: {ALICE}
team: {ALICE},
      {BOB}
all: team, staff@{DOMAIN}
staff: {BOB}
inc: :include:{base}/list
loopa: loopb
loopb: loopc, {ALICE}
loopc: loopa
{BOB}: {BOB}, {BOB}+copy
selfish: {ALICE}, {ALICE}+self, {ALICE}
archive: {files}/archive
cmd: "|/bin/cat > {files}/cmd.out"
envcmd: "|/usr/bin/env > {files}/env.out; exit 0"
failcmd: "|echo no, thanks; exit 67"
tempcmd: "|exit 75"
"""


def virtual_text(base):
    return f"""\
info@{VDOMAIN}      {ALICE}
sales@{VDOMAIN}     team@{DOMAIN}
box@{VDOMAIN}       {base}/vhosts/{VDOMAIN}/box/
"""


def write_tables(base, conf):
    (base / "aliases").write_text(aliases_text(base))
    (base / "list").write_text(f"# an included list\n{BOB}\n")
    os.chmod(base / "list", 0o644)
    (base / "virtual").write_text(virtual_text(base))
    r = subprocess.run([str(NEWALIASES), "-f", str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(TABLE_TOOL), "build", f"hash:{base}/virtual"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def config_lines(base):
    return [
        f"alias-table hash:{base}/aliases",
        f"virtual-domains {VDOMAIN}",
        f"virtual-table hash:{base}/virtual",
        f"virtual-user {BOB}",
        "maildir-detail-folders on",
    ]


_finish = bh.finish


@pytest.fixture(scope="module")
def mta(base):
    """One master for the delivery tests, with the tables built."""
    b = bh.Bulwark(extra=config_lines(base))
    write_tables(base, b.conf)
    bh.start_or_clean(b)
    yield b
    if os.environ.get("BULWARK_E2E_VERBOSE"):
        print(b.log_tail(200))
    _finish(b)


# --- helpers ------------------------------------------------------------------

def send(b, rcpts, subject, body="hello\r\n"):
    """Sends one message; every recipient must be accepted."""
    msg = (f"From: sender@example.org\r\nTo: list\r\nSubject: {subject}"
           f"\r\nMessage-ID: <{subject}@example.org>\r\n\r\n{body}")
    with smtplib.SMTP("127.0.0.1", b.port, timeout=10) as s:
        refused = s.sendmail("sender@example.org", rcpts, msg)
    assert refused == {}, refused
    return msg


def maildir_new(base, user, folder=""):
    d = base / user / "Maildir" / folder / "new"
    return sorted(d.iterdir()) if d.is_dir() else []


def with_subject(files, subject):
    return [f for f in files if f"Subject: {subject}\n" in f.read_text()]


def wait_mail(base, user, subject, folder="", count=1):
    """Waits until count messages with that subject are in the Maildir
    (and checks that no more arrive)."""
    def ok():
        m = with_subject(maildir_new(base, user, folder), subject)
        return m if len(m) >= count else None
    got = bh.wait_until(ok, DELIVERY_TIMEOUT,
                        what=f"{subject} in {user}'s Maildir/{folder}")
    assert len(got) == count, got
    return got


def rcpt_code(b, addr):
    with smtplib.SMTP("127.0.0.1", b.port, timeout=10) as s:
        s.ehlo("client.example.test")
        code, _ = s.mail("sender@example.org")
        assert code == 250
        code, msg = s.rcpt(addr)
        return code, msg.decode(errors="replace")


# --- RCPT time ------------------------------------------------------------------

def test_rcpt_unknown_is_refused_alias_accepted(mta):
    assert rcpt_code(mta, f"nosuchuser@{DOMAIN}")[0] == 550
    code, msg = rcpt_code(mta, f"nosuchuser@{DOMAIN}")
    assert msg.startswith("5.1.1"), msg
    for ok in (f"team@{DOMAIN}", f"TEAM@{DOMAIN}", f"team+x@{DOMAIN}",
               f"{ALICE}@{DOMAIN}", f"{BOB}+box@{DOMAIN}",
               f"postmaster@{DOMAIN}", f"info@{VDOMAIN}",
               f"box@{VDOMAIN}"):
        assert rcpt_code(mta, ok)[0] == 250, ok
    assert rcpt_code(mta, f"nobody-here@{VDOMAIN}")[0] == 550


# --- deliveries -------------------------------------------------------------------

def test_alias_to_several_users(mta, base):
    send(mta, [f"team@{DOMAIN}"], "several")
    for u in (ALICE, BOB):
        (f,) = wait_mail(base, u, "several")
        st = f.stat()
        assert st.st_uid == pwd.getpwnam(u).pw_uid
        assert st.st_mode & 0o777 == 0o600
        text = f.read_text()
        assert text.startswith("Return-Path: <sender@example.org>\n"
                               f"Delivered-To: team@{DOMAIN}\n")
        assert text.endswith("\n\nhello\n")


def test_nested_and_included_aliases(mta, base):
    send(mta, [f"all@{DOMAIN}", f"inc@{DOMAIN}"], "nested")
    wait_mail(base, ALICE, "nested")
    # all -> team -> bob and all -> staff -> bob: one copy for all@,
    # one more for inc@ (a recipient of its own)
    wait_mail(base, BOB, "nested", count=2)


def test_alias_of_itself_is_the_user(mta, base):
    # bwtbob: bwtbob, bwtbob+copy -- the user, and a folder of his
    send(mta, [f"selfish@{DOMAIN}", f"{BOB}@{DOMAIN}"], "selfish")
    wait_mail(base, BOB, "selfish")
    wait_mail(base, BOB, "selfish", folder=".copy")
    wait_mail(base, ALICE, "selfish")
    wait_mail(base, ALICE, "selfish", folder=".self")


def test_alias_loop_is_bounced_not_delivered(mta, base):
    mark = mta.log_mark()
    send(mta, [f"loopa@{DOMAIN}"], "looping")
    mta.wait_for_log(rf"to=<loopa@{DOMAIN}> status=bounced dsn=5\.4\.6",
                     timeout=DELIVERY_TIMEOUT, since=mark)
    assert mta.log_has(r"alias loop: loopa -> loopb -> loopc -> loopa",
                       since=mark)
    time.sleep(0.5)
    assert with_subject(maildir_new(base, ALICE), "looping") == []


def test_detail_goes_to_a_folder(mta, base):
    send(mta, [f"{ALICE}+lists@{DOMAIN}", f"team+news@{DOMAIN}"], "detail")
    wait_mail(base, ALICE, "detail", folder=".lists")
    wait_mail(base, ALICE, "detail", folder=".news")
    wait_mail(base, BOB, "detail", folder=".news")
    assert with_subject(maildir_new(base, ALICE), "detail") == []


def test_virtual_domain(mta, base):
    send(mta, [f"info@{VDOMAIN}", f"sales@{VDOMAIN}", f"box@{VDOMAIN}"],
         "virtual")
    wait_mail(base, ALICE, "virtual", count=2)      # info, sales -> team
    wait_mail(base, BOB, "virtual")                 # sales -> team
    box = base / "vhosts" / VDOMAIN / "box"
    got = bh.wait_until(lambda: list((box / "new").glob("*"))
                        if (box / "new").is_dir() else None,
                        DELIVERY_TIMEOUT, what="the virtual Maildir")
    assert len(got) == 1
    assert got[0].stat().st_uid == pwd.getpwnam(BOB).pw_uid
    assert f"Delivered-To: box@{VDOMAIN}\n" in got[0].read_text()


def test_alias_to_file(mta, base):
    send(mta, [f"archive@{DOMAIN}"], "tofile", body="From here on\r\nok\r\n")
    f = base / "files" / "archive"
    bh.wait_until(lambda: f.exists() and "ok\n" in f.read_text(),
                  DELIVERY_TIMEOUT, what="the archive file")
    text = f.read_text()
    assert text.startswith("From sender@example.org ")
    assert "\n>From here on\nok\n\n" in text          # mboxrd quoting
    assert f.stat().st_uid == pwd.getpwnam("nobody").pw_uid


def test_alias_to_command(mta, base):
    mark = mta.log_mark()
    msg = send(mta, [f"cmd@{DOMAIN}", f"envcmd@{DOMAIN}"], "tocommand")
    out, env = base / "files" / "cmd.out", base / "files" / "env.out"
    bh.wait_until(lambda: out.exists() and env.exists() and
                  mta.log_has(r"to=<envcmd@example\.test> status=sent",
                              since=mark),
                  DELIVERY_TIMEOUT, what="the commands' output")
    text = out.read_text()
    assert text.startswith("Return-Path: <sender@example.org>\n"
                           f"Delivered-To: cmd@{DOMAIN}\n")
    assert text.endswith(msg.split("\r\n\r\n", 1)[1].replace("\r\n", "\n"))
    assert out.stat().st_uid == pwd.getpwnam("nobody").pw_uid
    envs = dict(line.split("=", 1)
                for line in env.read_text().splitlines() if "=" in line)
    assert envs["PATH"] == "/usr/bin:/bin"
    assert envs["SENDER"] == "sender@example.org"
    assert envs["RECIPIENT"] == f"envcmd@{DOMAIN}"
    assert envs["USER"] == "nobody"
    assert set(envs) <= {"PATH", "HOME", "USER", "LOGNAME", "SHELL",
                         "SENDER", "RECIPIENT", "PWD", "SHLVL", "_"}


def test_command_exit_status(mta, base):
    mark = mta.log_mark()
    send(mta, [f"failcmd@{DOMAIN}", f"tempcmd@{DOMAIN}"], "exits")
    mta.wait_for_log(rf"to=<failcmd@{DOMAIN}> status=bounced dsn=5\.3\.0 "
                     r".*\(command failed \(exit 67\): no, thanks\)",
                     timeout=DELIVERY_TIMEOUT, since=mark)
    mta.wait_for_log(rf"to=<tempcmd@{DOMAIN}> status=deferred dsn=4\.3\.0",
                     timeout=DELIVERY_TIMEOUT, since=mark)


# --- the table's life ---------------------------------------------------------------

def test_rebuilt_table_seen_after_sighup(base):
    b = bh.Bulwark(extra=config_lines(base))
    write_tables(base, b.conf)
    b.start()
    try:
        assert rcpt_code(b, f"newalias@{DOMAIN}")[0] == 550
        with open(base / "aliases", "a") as f:
            f.write(f"newalias: {BOB}\n")
        r = subprocess.run([str(NEWALIASES), "-f", str(b.conf)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        mark = b.log_mark()
        lookup = b.daemon("lookup").pid
        b.reload()
        b.wait_for_log(r"lookup.*table hash:\S+/aliases: opened",
                       since=mark)
        assert rcpt_code(b, f"newalias@{DOMAIN}")[0] == 250
        assert b.daemon("lookup").pid == lookup     # not restarted
    finally:
        _finish(b)


def test_missing_table_is_a_temporary_failure(base):
    b = bh.Bulwark(extra=[f"alias-table hash:{base}/no-such-aliases"])
    b.start()
    try:
        b.wait_for_log(r"table hash:\S+/no-such-aliases: cannot open .*"
                       r"No such file or directory; what needs it fails "
                       r"temporarily")
        code, msg = rcpt_code(b, f"nosuchuser@{DOMAIN}")
        assert code == 451 and msg.startswith("4.3.0"), (code, msg)
        # a system user needs no table
        assert rcpt_code(b, f"{ALICE}@{DOMAIN}")[0] == 250
        assert b.daemon("lookup")                   # no crash
    finally:
        _finish(b)


def test_newaliases_reports_file_and_line(base, tmp_path):
    src = tmp_path / "aliases"
    src.write_text("good: root\nno colon here\nbad: \"open\n")
    conf = tmp_path / "bulwark.conf"
    conf.write_text(bh.config_text(25, tmp_path / "spool") +
                    f"alias-table hash:{src}\n")
    r = subprocess.run([str(NEWALIASES), "-f", str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert f"{src}:2: expected \"name: target, ...\"" in r.stderr
    assert f"{src}:3: alias \"bad\": unterminated quote" in r.stderr
    assert not (tmp_path / "aliases.db").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_burst_beyond_delivery_concurrency_is_all_delivered(mta, base):
    """More messages at once than qmgr has delivery slots (20): the last
    ones must not wait for the 300 s scheduler timer once the burst's
    other deliveries finish (a finished delivery frees a slot)."""
    subject = "burst-%d" % os.getpid()
    n = 80

    def one(i):
        with smtplib.SMTP("127.0.0.1", mta.port, timeout=20) as s:
            s.sendmail("sender@example.org", [f"bwtalice@{DOMAIN}"],
                       f"Subject: {subject}\r\n\r\nmessage {i}\r\n")

    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        list(pool.map(one, range(n)))
    wait_mail(base, "bwtalice", subject, count=n)
