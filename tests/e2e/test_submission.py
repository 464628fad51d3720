"""Submission: STARTTLS on 25 and 587, implicit TLS on 465, SNI, AUTH PLAIN
and LOGIN against a crypt(3) credentials table checked by lookup, failure
delay and throttling, sender ownership, and what submission adds to a
message. Real clients only: Python's smtplib and ssl, and openssl s_client.
"""

import base64
import contextlib
import grp
import os
import shutil
import tempfile
import socket
import ssl
import smtplib
import subprocess
import time
from pathlib import Path

import pytest

import bulwark_harness as bh
from conftest import _start

PASSWORD = "correct horse"
REMOTE = "remote.example"


def _run(*args):
    subprocess.run(list(args), check=True, capture_output=True, timeout=60)


def make_ca(d):
    """A test CA and two server certificates: mail.example.test (the
    default) and other.example.test (chosen by SNI)."""
    _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-days", "2", "-subj", "/CN=Bulwark Test CA", "-keyout",
         str(d / "ca.key"), "-out", str(d / "ca.pem"), "-addext",
         "basicConstraints=critical,CA:TRUE", "-addext",
         "keyUsage=keyCertSign")
    for name in ("mail.example.test", "other.example.test"):
        make_server_cert(d, name, name)


def make_server_cert(d, name, cn):
    key, csr, pem = d / f"{name}.key", d / f"{name}.csr", d / f"{name}.pem"
    ext = d / f"{name}.ext"
    ext.write_text(f"subjectAltName=DNS:{cn}\n")
    _run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj",
         f"/CN={cn}", "-keyout", str(key), "-out", str(csr))
    _run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(d / "ca.pem"),
         "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
         "-extfile", str(ext), "-out", str(pem))
    key.chmod(0o600)


def crypt_hash(password):
    return subprocess.run(["openssl", "passwd", "-6", password], check=True,
                          capture_output=True, text=True,
                          timeout=30).stdout.strip()


@pytest.fixture(scope="module")
def tlsdir():
    # lookup (_bulwarkl) reads the tables: a directory it can reach, not
    # pytest's private one
    d = Path(tempfile.mkdtemp(prefix="bulwark-tls-"))
    d.chmod(0o755)
    make_ca(d)
    h = crypt_hash(PASSWORD)
    (d / "credentials").write_text(
        f"alice@example.test {h}\nbob {h}\ncarol {h}\nlocked !\n")
    (d / "senders").write_text("shared@example.test alice@example.test, "
                               "bob\n@team.example bob\n")
    for t in ("credentials", "senders"):
        _run(str(bh.BUILD_DIR / "bulwark-table"), "build",
             f"hash:{d / t}")
    # the hashes: root's, readable by lookup's group only
    creds = d / "credentials.db"
    os.chown(creds, 0, grp.getgrnam("_bulwarkl").gr_gid)
    creds.chmod(0o640)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def srv(tlsdir):
    ports = {"sub": bh.free_port(), "subs": bh.free_port()}
    b = bh.Bulwark(extra=[
        f"listen 127.0.0.1:{ports['sub']} submission",
        f"listen 127.0.0.1:{ports['subs']} submissions",
        f"tls-certificate {tlsdir}/mail.example.test.pem",
        f"tls-key {tlsdir}/mail.example.test.key",
        f"tls-sni other.example.test {tlsdir}/other.example.test.pem "
        f"{tlsdir}/other.example.test.key",
        f"credentials-table hash:{tlsdir}/credentials",
        f"sender-login-table hash:{tlsdir}/senders",
        "trusted-networks 127.0.0.99/32",
    ])
    b.ports = ports
    b.tlsdir = tlsdir
    _start(b)
    yield b
    with contextlib.suppress(Exception):
        b.stop()
    b.kill_everything()
    b.cleanup()


def ctx(tlsdir):
    c = ssl.create_default_context(cafile=str(tlsdir / "ca.pem"))
    c.check_hostname = False    # we connect to 127.0.0.1
    return c


def submission(srv, source="127.0.0.1", tls=True):
    s = smtplib.SMTP("127.0.0.1", srv.ports["sub"], timeout=10,
                     source_address=(source, 0))
    s.ehlo("client.example")
    if tls:
        s.starttls(context=ctx(srv.tlsdir))
        s.ehlo("client.example")
    return s


def auth_plain(s, login, password):
    msg = base64.b64encode(f"\0{login}\0{password}".encode()).decode()
    return s.docmd("AUTH", f"PLAIN {msg}")


def test_587_offers_auth_only_after_starttls(srv):
    s = submission(srv, tls=False)
    assert s.has_extn("starttls")
    assert not s.has_extn("auth")
    assert s.mail("alice@example.test")[0] == 530
    code, msg = auth_plain(s, "alice@example.test", PASSWORD)
    assert (code, msg[:6]) == (538, b"5.7.11")
    s.starttls(context=ctx(srv.tlsdir))
    s.ehlo("client.example")
    assert "PLAIN" in s.esmtp_features["auth"]
    assert "LOGIN" in s.esmtp_features["auth"]
    assert not s.has_extn("starttls")
    code, msg = s.mail("alice@example.test")
    assert (code, msg[:5]) == (530, b"5.7.0")
    s.quit()


def test_login_relays_and_no_login_does_not(srv):
    s = submission(srv)
    s.login("alice@example.test", PASSWORD)
    s.mail("alice@example.test")
    assert s.rcpt(f"someone@{REMOTE}")[0] == 250
    code, msg = s.data(b"Subject: relay\r\n\r\nrelayed\r\n")
    assert code == 250 and b"queued as" in msg
    s.quit()
    # the same from an untrusted client without login, on port 25
    c = smtplib.SMTP("127.0.0.1", srv.port, timeout=10)
    c.ehlo("client.example")
    c.mail("alice@example.test")
    code, msg = c.rcpt(f"someone@{REMOTE}")
    assert (code, msg[:5]) == (554, b"5.7.1")
    c.quit()
    srv.wait_for_log(r"action=auth mech=PLAIN login=<alice@example\.test> "
                     r"status=ok")


def test_smtps_465_implicit_tls(srv):
    s = smtplib.SMTP_SSL("127.0.0.1", srv.ports["subs"],
                         context=ctx(srv.tlsdir), timeout=10)
    s.ehlo("client.example")
    assert s.sock.version() in ("TLSv1.2", "TLSv1.3")
    assert not s.has_extn("starttls")
    assert "PLAIN" in s.esmtp_features["auth"]
    s.login("bob", PASSWORD)
    assert s.mail("bob@example.test")[0] == 250
    s.quit()


def test_port_25_offers_starttls_and_auth_after_it(srv):
    s = smtplib.SMTP("127.0.0.1", srv.port, timeout=10)
    s.ehlo("client.example")
    assert s.has_extn("starttls") and not s.has_extn("auth")
    # mail without TLS is fine on 25: STARTTLS is offered, not required
    assert s.mail("x@client.example")[0] == 250
    s.rset()
    s.starttls(context=ctx(srv.tlsdir))
    s.ehlo("client.example")
    assert s.has_extn("auth")
    code, msg = s.docmd("STARTTLS")
    assert (code, msg[:5]) == (503, b"5.5.1")
    s.quit()


def test_wrong_password_is_delayed_535(srv):
    s = submission(srv)
    t0 = time.monotonic()
    code, msg = auth_plain(s, "carol", "wrong")
    assert (code, msg[:5]) == (535, b"5.7.8")
    assert time.monotonic() - t0 >= 0.9
    # unknown and locked logins fail the same way
    assert auth_plain(s, "nobody-here", "x")[0] == 535
    assert auth_plain(s, "locked", "x")[0] == 535
    code, _ = auth_plain(s, "carol", PASSWORD)
    assert code == 235
    s.quit()
    log = srv.log()
    assert "wrong" not in log and PASSWORD not in log
    assert "login=<carol> status=failed" in log


def test_sixth_quick_failure_is_throttled(srv):
    # from an address of its own, so that no other test shares its count
    for i in range(5):
        s = submission(srv, source="127.0.0.2")
        assert auth_plain(s, "dave", f"guess{i}")[0] == 535
        s.quit()
    s = submission(srv, source="127.0.0.2")
    code, msg = auth_plain(s, "dave", "guess5")
    assert (code, msg[:5]) == (454, b"4.7.0")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        s.noop()
    srv.wait_for_log(r"client=127\.0\.0\.2 action=auth mech=PLAIN "
                     r"login=<dave> status=throttled")


def test_auth_exchange_edge_cases(srv):
    s = submission(srv)
    assert s.docmd("AUTH", "PLAIN !!!!")[:1] == (501,)
    code, msg = s.docmd("AUTH", "PLAIN")
    assert code == 334 and msg == b""
    code, msg = s.docmd("*")
    assert (code, msg[:5]) == (501, b"5.7.0")
    code, msg = s.docmd("AUTH", "PLAIN")
    code, msg = s.docmd("not base64")
    assert (code, msg[:5]) == (501, b"5.5.2")
    # NULs in the wrong places
    bad = base64.b64encode(b"\0al\0ice\0pw").decode()
    assert s.docmd("AUTH", f"PLAIN {bad}")[:1] == (501,)
    bad = base64.b64encode(b"mallory\0alice\0pw").decode()
    assert s.docmd("AUTH", f"PLAIN {bad}")[:1] == (501,)
    assert s.docmd("AUTH", "CRAM-MD5")[0] == 504
    # LOGIN, with its two prompts
    code, msg = s.docmd("AUTH", "LOGIN")
    assert (code, base64.b64decode(msg)) == (334, b"Username:")
    code, msg = s.docmd(base64.b64encode(b"alice@example.test").decode())
    assert (code, base64.b64decode(msg)) == (334, b"Password:")
    code, _ = s.docmd(base64.b64encode(PASSWORD.encode()).decode())
    assert code == 235
    code, msg = s.docmd("AUTH", "PLAIN")
    assert (code, msg[:5]) == (503, b"5.5.1")
    s.quit()


def test_over_long_response_is_refused(srv):
    s = submission(srv)
    code, _ = s.docmd("AUTH", "PLAIN")
    assert code == 334
    code, msg = s.docmd("QUFB" * 2000)
    assert (code, msg[:5]) == (501, b"5.5.2")
    assert s.noop()[0] == 250
    # beyond the line limit: 500, and the exchange is over
    assert s.docmd("AUTH", "PLAIN")[0] == 334
    code, msg = s.docmd("QUFB" * 4000)
    assert (code, msg[:5]) == (500, b"5.5.2")
    assert s.noop()[0] == 250
    s.quit()


def test_sender_ownership(srv):
    s = submission(srv)
    s.login("alice@example.test", PASSWORD)
    code, msg = s.mail("bob@example.test")
    assert (code, msg[:5]) == (553, b"5.7.1")
    assert s.mail("shared@example.test")[0] == 250     # the table
    s.rset()
    assert s.mail("<>")[0] == 250
    s.quit()
    s = submission(srv)
    s.login("bob", PASSWORD)
    assert s.mail("bob@example.test")[0] == 250         # login@local
    s.rset()
    assert s.mail("anyone@team.example")[0] == 250      # @domain
    s.rset()
    assert s.mail("alice@example.test")[0] == 553
    s.quit()
    srv.wait_for_log(r"login=<bob> from=<alice@example\.test> "
                     r"action=reject dsn=5\.7\.1")


def queued_message(srv, qid):
    """The queue file of qid, as bytes."""
    def find():
        for p in (srv.spool / "queue").rglob(f"*{qid}*"):
            if p.is_file() and b"Received:" in p.read_bytes()[:200]:
                return p.read_bytes()
        return None
    return bh.wait_until(find, 5, what=f"queue file of {qid}")


def test_submission_adds_date_message_id_and_esmtpsa(srv):
    s = submission(srv)
    s.login("alice@example.test", PASSWORD)
    s.mail("alice@example.test")
    s.rcpt(f"x@{REMOTE}")
    code, msg = s.data(b"Subject: no id\r\n\r\nbody\r\n")
    assert code == 250
    qid = msg.split()[-1].decode()
    m = queued_message(srv, qid)
    head = m.split(b"\r\n\r\n", 1)[0]
    assert b"with ESMTPSA id " + qid.encode() in head
    assert b"(using TLSv1." in head and b"with cipher" in head
    assert head.count(b"\r\nDate: ") == 1
    assert f"Message-ID: <{qid}@mail.example.test>".encode() in head
    assert m.endswith(b"\r\n\r\nbody\r\n")
    assert b"Authenticated sender" not in head  # received-show-login off
    srv.wait_for_log(rf"qid={qid} from=<alice@example\.test> nrcpt=1 "
                     rf"size=\d+ tls=TLSv1\.3:TLS_\w+ "
                     rf"login=<alice@example\.test> action=accept")
    # the client's own are kept, never doubled
    s.mail("alice@example.test")
    s.rcpt(f"x@{REMOTE}")
    code, msg = s.data(b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                       b"Message-Id: <mine@client>\r\n\r\nbody\r\n")
    m = queued_message(srv, msg.split()[-1].decode())
    assert m.count(b"Date:") == 1 and m.count(b"Message-I") == 1
    # a body without a header section gets headers and an empty line
    s.mail("alice@example.test")
    s.rcpt(f"x@{REMOTE}")
    code, msg = s.data(b"just text\r\nmore\r\n")
    m = queued_message(srv, msg.split()[-1].decode())
    assert b"Message-ID: <" in m and b"\r\n\r\njust text\r\nmore\r\n" in m
    s.quit()


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise EOFError("connection closed")
        lines.append(line)
        if line[3:4] != b"-":
            return lines


def test_starttls_injection_is_discarded(srv):
    mark = srv.log_mark()
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    f = raw.makefile("rb")
    read_reply(f)
    raw.sendall(b"EHLO client.example\r\n")
    read_reply(f)
    raw.sendall(b"STARTTLS\r\nRSET\r\n")
    assert read_reply(f)[0].startswith(b"220 2.0.0")
    # nothing more in the clear: the RSET was not answered
    raw.settimeout(0.5)
    with pytest.raises(socket.timeout):
        extra = raw.recv(100, socket.MSG_PEEK)
        assert not extra, extra
    raw.settimeout(10)
    t = ctx(srv.tlsdir).wrap_socket(raw)
    tf = t.makefile("rwb")
    # under TLS the first reply is the EHLO's, not the RSET's
    tf.write(b"EHLO client.example\r\n")
    tf.flush()
    reply = read_reply(tf)
    assert reply[0].startswith(b"250-mail.example.test"), reply
    tf.write(b"QUIT\r\n")
    tf.flush()
    assert read_reply(tf)[0].startswith(b"221")
    t.close()
    srv.wait_for_log(r"action=starttls discarded=6 ", since=mark)


def s_client(port, *args):
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
         "-brief", *args], input="", capture_output=True, text=True,
        timeout=20)


def test_tls_versions_and_sni(srv):
    port = srv.ports["subs"]
    r = s_client(port)
    assert "Protocol version: TLSv1.3" in r.stderr, r.stderr
    assert "CN = mail.example.test" in r.stderr
    r = s_client(port, "-servername", "other.example.test")
    assert "CN = other.example.test" in r.stderr, r.stderr
    r = s_client(port, "-servername", "unknown.example.test")
    assert "CN = mail.example.test" in r.stderr
    for old in ("-tls1", "-tls1_1"):
        r = s_client(port, old, "-cipher", "DEFAULT@SECLEVEL=0")
        # the server's alert, not a client that would not try
        assert r.returncode != 0
        assert "alert protocol version" in r.stderr, r.stderr
    r = s_client(port, "-tls1_2")
    assert "Protocol version: TLSv1.2" in r.stderr, r.stderr


def test_key_readable_by_others_is_refused(tlsdir, tmp_path):
    key = tmp_path / "key.pem"
    key.write_bytes((tlsdir / "mail.example.test.key").read_bytes())
    key.chmod(0o644)
    conf = tmp_path / "bulwark.conf"
    conf.write_text(f"tls-certificate {tlsdir}/mail.example.test.pem\n"
                    f"tls-key {key}\n")
    r = bh.run_check(conf)
    assert r.returncode != 0
    assert f"{conf}:2: tls-key \"{key}\" is accessible by others" in \
        r.stderr
    key.chmod(0o600)
    conf.write_text(f"tls-certificate {tlsdir}/mail.example.test.pem\n"
                    f"tls-key {tlsdir}/other.example.test.key\n")
    r = bh.run_check(conf)
    assert r.returncode != 0 and "mismatch" in r.stderr, r.stderr


def test_reload_takes_a_new_certificate(tlsdir, tmp_path):
    d = tmp_path
    (d / "ca.pem").write_bytes((tlsdir / "ca.pem").read_bytes())
    (d / "ca.key").write_bytes((tlsdir / "ca.key").read_bytes())
    make_server_cert(d, "srv", "first.example.test")
    subs = bh.free_port()
    b = bh.Bulwark(extra=[f"listen 127.0.0.1:{subs} submissions",
                          f"tls-certificate {d}/srv.pem",
                          f"tls-key {d}/srv.key"])
    _start(b)
    try:
        assert "CN = first.example.test" in s_client(subs).stderr
        make_server_cert(d, "srv", "second.example.test")
        b.reload()
        bh.wait_until(lambda: "CN = second.example.test" in
                      s_client(subs).stderr, 10, interval=0.2,
                      what="the new certificate after SIGHUP")
    finally:
        with contextlib.suppress(Exception):
            b.stop()
        b.kill_everything()
        b.cleanup()


def test_system_users_with_auth_system_users(tlsdir, tmp_path):
    user = "bwtsysauth"
    bh.useradd(user, tmp_path / user)
    try:
        subprocess.run(["chpasswd"], input=f"{user}:{PASSWORD}\n",
                       text=True, check=True, timeout=30)
        subs = bh.free_port()
        b = bh.Bulwark(extra=[f"listen 127.0.0.1:{subs} submissions",
                              f"tls-certificate {tlsdir}/mail.example.test.pem",
                              f"tls-key {tlsdir}/mail.example.test.key",
                              "auth-system-users on"])
        _start(b)
        try:
            s = smtplib.SMTP_SSL("127.0.0.1", subs, context=ctx(tlsdir),
                                 timeout=10)
            s.ehlo("client.example")
            assert auth_plain(s, user, "wrong")[0] == 535
            assert auth_plain(s, "root", "anything")[0] == 535
            assert auth_plain(s, user, PASSWORD)[0] == 235
            assert s.mail(f"{user}@example.test")[0] == 250
            s.quit()
            # lookup kept the shadow group, and nothing else
            shadow = grp.getgrnam("shadow").gr_gid
            lk = [p for p in b.children() if p.kind == "lookup"][0]
            with open(f"/proc/{lk.pid}/status") as f:
                groups = [ln for ln in f if ln.startswith("Groups:")][0]
            assert str(shadow) in groups.split()
        finally:
            with contextlib.suppress(Exception):
                b.stop()
            b.kill_everything()
            b.cleanup()
    finally:
        bh.userdel(user)
