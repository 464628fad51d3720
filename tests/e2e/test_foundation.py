"""Issue 2's acceptance list: the master runs the daemons with their own
users and chroots, restarts any that dies, checks its configuration,
guards its spool, survives hostile IPC frames, reloads on SIGHUP and
leaves nothing behind on SIGTERM.

The SMTP server is still a placeholder: only the 220 greeting (naming the
hostname), NOOP -> 250 and QUIT are relied on.
"""

import os
import pwd
import re
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

import bulwark_harness as bh
from bulwark_harness import KINDS, DAEMON_USERS

RESTART_WITHIN = 2.0        # seconds, from the acceptance list

# proto.h
QM_OPEN = 200
IPC_F_FD = 0x1
IPC_MAX_PAYLOAD = 64 * 1024


def ipc_header(type_, flags, length):
    return struct.pack("<HHI", type_, flags, length)


# --- privileges -------------------------------------------------------------

def test_daemons_run_as_their_own_users(bulwark_shared):
    b = bulwark_shared
    m = b.master_proc()
    assert m.uids == (0, 0, 0, 0), f"master uids {m.uids}"
    assert m.gids == (0, 0, 0, 0), f"master gids {m.gids}"

    for kind in KINDS:
        want = b.workers if kind == "smtpd" else 1
        assert len(b.daemons(kind)) == want, f"{kind}: {b.daemons(kind)}"
        for p in b.daemons(kind):
            user = DAEMON_USERS[kind]
            if user is None:
                assert p.uids == (0, 0, 0, 0), f"{kind}[{p.pid}] {p.uids}"
                continue
            pw = pwd.getpwnam(user)
            assert p.uids == (pw.pw_uid,) * 4, \
                f"{kind}[{p.pid}] uids {p.uids}, want {user}"
            assert p.gids == (pw.pw_gid,) * 4, \
                f"{kind}[{p.pid}] gids {p.gids}, want {user}'s group"
            assert set(p.groups) <= {pw.pw_gid}, \
                f"{kind}[{p.pid}] supplementary groups {p.groups}"


def test_unprivileged_daemons_hold_no_root_id(bulwark_shared):
    b = bulwark_shared
    for p in b.children():
        assert p.kind is not None, f"unexpected child {p}"
        if p.kind == "deliver-local":
            continue
        assert 0 not in p.uids, f"{p.kind}[{p.pid}] uids {p.uids}"
        assert 0 not in p.gids, f"{p.kind}[{p.pid}] gids {p.gids}"
        assert 0 not in p.groups, f"{p.kind}[{p.pid}] groups {p.groups}"
        assert p.cap_eff == 0 and p.cap_prm == 0, \
            f"{p.kind}[{p.pid}] keeps capabilities " \
            f"(eff {p.cap_eff:#x}, prm {p.cap_prm:#x})"


def test_chroots_and_no_new_privs(bulwark_shared):
    b = bulwark_shared
    spool = os.path.realpath(b.spool)
    smtpds = b.daemons("smtpd")
    assert len(smtpds) == b.workers
    for p in smtpds:
        assert p.root == os.path.join(spool, "empty"), \
            f"smtpd[{p.pid}] root {p.root}"
        assert p.nonewprivs == 1, f"smtpd[{p.pid}] NoNewPrivs {p.nonewprivs}"
    q = b.daemon("qmgr")
    assert q.root == os.path.join(spool, "queue"), f"qmgr root {q.root}"
    assert q.nonewprivs == 1, f"qmgr NoNewPrivs {q.nonewprivs}"


def test_greeting_names_the_host(bulwark_shared):
    greeting = bh.smtp_check(bulwark_shared.port, bh.HOSTNAME)
    assert "ESMTP" in greeting


def test_quit_is_answered_221(bulwark_shared):
    bh.smtp_check(bulwark_shared.port, bh.HOSTNAME)


# --- restarts ---------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_killed_daemon_is_restarted(bulwark, kind):
    b = bulwark
    before = b.pids()
    victims = before[kind]
    assert victims, f"no {kind} running"
    mark = b.log_mark()
    # all smtpd workers at once, so that the SMTP check below can only be
    # answered by a restarted one
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    new = b.wait_daemons(kind, len(victims), exclude=victims,
                         timeout=RESTART_WITHIN, dropped=False)
    elapsed = time.monotonic() - t0
    assert elapsed <= RESTART_WITHIN
    # logged: the death and the restart
    deaths = re.findall(
        rf"bulwark/master\[{b.pid}\]: {re.escape(kind)} killed by signal 9 "
        r"after \d+s; restarting in \d+\.\d{3}s$", b.log(mark), re.M)
    assert len(deaths) == len(victims), b.log(mark)
    for p in new:
        b.wait_for_log(rf"bulwark/master\[{b.pid}\]: started "
                       rf"{re.escape(kind)}\[{p.pid}\]$", since=mark)
    # the new ones finish their start-up
    b.wait_daemons(kind, len(victims), exclude=victims, timeout=5)
    # nobody else was touched
    after = b.pids()
    for k in KINDS:
        if k != kind:
            assert after[k] == before[k], f"{k} changed: {before[k]} -> " \
                f"{after[k]} after killing {kind}"
    assert b.alive()
    assert not b.zombies(), f"unreaped children: {b.zombies()}"
    bh.smtp_works(b.port, bh.HOSTNAME)
    # the peers dropped the dead link quietly: nobody was accused
    assert not b.log_has("broke the protocol", since=mark), b.log(mark)


# --- bulwark -n -------------------------------------------------------------

BASE_CONF = ("hostname mail.example.test\n"
             "local-domains example.test\n"
             "listen 127.0.0.1:2525\n")


def write(path, text):
    Path(path).write_text(text)
    return path


def assert_refused_at(r, conf, line):
    assert r.returncode == 1, \
        f"exit {r.returncode}, stderr {r.stderr!r}"
    assert re.match(rf"{re.escape(str(conf))}:{line}: \S", r.stderr), \
        f"want {conf}:{line}: ..., got {r.stderr!r}"


def test_check_unknown_keyword(workdir):
    conf = write(workdir / "c.conf", BASE_CONF + "frobnicate yes\n")
    r = bh.run_check(conf)
    assert_refused_at(r, conf, 4)
    assert "frobnicate" in r.stderr


def test_check_bad_port(workdir):
    conf = write(workdir / "c.conf", "# a comment\n"
                 "hostname mail.example.test\n"
                 "listen 127.0.0.1:99999\n"
                 "local-domains example.test\n")
    r = bh.run_check(conf)
    assert_refused_at(r, conf, 3)
    assert "99999" in r.stderr


def test_check_missing_certificate(workdir):
    conf = write(workdir / "c.conf", BASE_CONF + "\n"
                 f"tls-certificate {workdir}/nonexistent/cert.pem\n"
                 f"tls-key {workdir}/nonexistent/key.pem\n")
    r = bh.run_check(conf)
    assert_refused_at(r, conf, 5)
    assert "cert.pem" in r.stderr


@pytest.fixture(scope="module")
def cert_pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    return bh.make_cert(d)


def sample_with(cert, key):
    """etc/bulwark.conf with its certificate and key paths replaced."""
    text = (bh.REPO / "etc" / "bulwark.conf").read_text()
    assert "/etc/bulwark/cert.pem" in text and "/etc/bulwark/key.pem" in text
    return (text.replace("/etc/bulwark/cert.pem", str(cert))
                .replace("/etc/bulwark/key.pem", str(key)))


def test_check_sample_configuration(workdir, cert_pair):
    cert, key = cert_pair
    conf = write(workdir / "sample.conf", sample_with(cert, key))
    r = bh.run_check(conf)
    assert r.returncode == 0, f"sample refused: {r.stderr!r}"


def test_check_key_readable_by_others(workdir, cert_pair):
    cert, key = cert_pair
    loose = workdir / "loose-key.pem"
    loose.write_bytes(Path(key).read_bytes())
    os.chmod(loose, 0o644)
    text = sample_with(cert, loose)
    conf = write(workdir / "sample.conf", text)
    keyline = next(i for i, l in enumerate(text.splitlines(), 1)
                   if l.startswith("tls-key"))
    r = bh.run_check(conf)
    assert_refused_at(r, conf, keyline)
    assert "tls-key" in r.stderr


# --- the spool lock ---------------------------------------------------------

def test_second_master_on_same_spool_is_refused(bulwark):
    b = bulwark
    before = b.pids()
    # the same spool, another port: only the lock can refuse it
    other = b.dir / "second.conf"
    other.write_text(bh.config_text(port=bh.free_port(), spool=b.spool))
    r = subprocess.run([str(bh.MASTER_BIN), "-d", "-f", str(other)],
                       capture_output=True, text=True, timeout=15,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1, f"second master: exit {r.returncode}, " \
        f"stderr {r.stderr!r}"
    assert re.search(rf"another bulwark master \(pid {b.pid}\) runs on "
                     rf"{re.escape(str(b.spool))}", r.stderr), r.stderr
    # the first one is undisturbed
    assert b.alive()
    assert b.pids() == before
    assert (b.spool / "master.pid").read_text().strip() == str(b.pid)
    bh.smtp_check(b.port, bh.HOSTNAME)


# --- hostile IPC frames -----------------------------------------------------

def smtpd_link_to_qmgr(b, smtpd, qmgr):
    """The descriptor number, in smtpd, of its end of the smtpd-qmgr link."""
    peers = bh.unix_peers()
    q_inodes = set(bh.socket_inodes(qmgr.pid).values())
    found = [fd for fd, ino in bh.socket_inodes(smtpd.pid).items()
             if peers.get(ino) in q_inodes]
    assert len(found) == 1, f"smtpd[{smtpd.pid}] links to qmgr: {found}"
    return found[0]


def send_raw(sock, data, fds=()):
    anc = []
    if fds:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                struct.pack(f"{len(fds)}i", *fds))]
    sock.sendmsg([data], anc)


HOSTILE_FRAMES = [
    # (name, payload, with a descriptor?, reasons qmgr may give)
    ("short header", b"\x01\x02\x03", False, ["short header"]),
    ("length beyond the maximum",
     ipc_header(QM_OPEN, 0, IPC_MAX_PAYLOAD + 1), False,
     ["length beyond the maximum"]),
    ("unknown type", ipc_header(0x7777, 0, 0), False,
     ["unknown message type"]),
    ("descriptor without the header flag",
     ipc_header(QM_OPEN, 0, 4) + struct.pack("<I", 1), True,
     ["descriptor does not match the header"]),
    # a well-formed QM_OPEN, but QM_OPEN carries no descriptor. (While
    # qmgr's rules table is still empty, QM_OPEN is an unknown type.)
    ("unexpected descriptor",
     ipc_header(QM_OPEN, IPC_F_FD, 4) + struct.pack("<I", 1), True,
     ["unexpected descriptor", "unknown message type"]),
]


def test_hostile_frames_to_qmgr(bulwark):
    b = bulwark
    qmgr = b.daemon("qmgr")
    for name, data, with_fd, reasons in HOSTILE_FRAMES:
        smtpd = b.daemons("smtpd")[0]
        others = {k: v for k, v in b.pids().items() if k != "smtpd"}
        fd = smtpd_link_to_qmgr(b, smtpd, qmgr)
        dup = bh.pidfd_getfd(smtpd.pid, fd)
        mark = b.log_mark()
        with socket.socket(fileno=dup) as s:
            assert s.type == socket.SOCK_SEQPACKET
            if with_fd:
                devnull = os.open("/dev/null", os.O_RDONLY)
                try:
                    send_raw(s, data, [devnull])
                finally:
                    os.close(devnull)
            else:
                send_raw(s, data)
            m = b.wait_for_log(
                rf"bulwark/qmgr\[{qmgr.pid}\]: ipc: "
                rf"smtpd#{smtpd.instance_id}: (.*); dropping the peer$",
                since=mark)
            assert m.group(1) in reasons, f"{name}: qmgr said {m.group(1)!r}"
            b.wait_for_log(
                rf"bulwark/master\[{b.pid}\]: qmgr\[{qmgr.pid}\] reports "
                rf"that smtpd\[{smtpd.pid}\] broke the protocol; "
                r"restarting it$", since=mark)
            # the offender is replaced, qmgr and the rest stay
            bh.wait_until(lambda: bh.proc_state(smtpd.pid) in (None, "Z"),
                          2, what=f"smtpd[{smtpd.pid}] to be killed")
            b.wait_daemons("smtpd", b.workers, exclude=[smtpd.pid],
                           timeout=5)
        assert b.daemon("qmgr").pid == qmgr.pid, f"{name}: qmgr restarted"
        assert {k: v for k, v in b.pids().items() if k != "smtpd"} == \
            others, f"{name}: another daemon was restarted"
        assert b.log_has(r"smtpd killed by signal 9 after", since=mark)
        bh.smtp_works(b.port, bh.HOSTNAME)


def control_socket(b, daemon):
    """A duplicate of daemon's end of its control link (fd 3), checked to
    lead to the master."""
    peers = bh.unix_peers()
    ino = bh.socket_inodes(daemon.pid).get(3)
    assert ino is not None, f"{daemon.kind}[{daemon.pid}] has no fd 3"
    assert peers.get(ino) in set(bh.socket_inodes(b.pid).values()), \
        f"fd 3 of {daemon.kind}[{daemon.pid}] does not lead to the master"
    return socket.socket(fileno=bh.pidfd_getfd(daemon.pid, 3))


def test_hostile_frame_to_master(bulwark):
    """A daemon that breaks the control protocol is ended and restarted."""
    b = bulwark
    victim = b.daemons("smtpd")[0]
    others = {k: v for k, v in b.pids().items() if k != "smtpd"}
    mark = b.log_mark()
    with control_socket(b, victim) as s:
        send_raw(s, b"\x06\x00\x00")
        b.wait_for_log(rf"bulwark/master\[{b.pid}\]: ipc: "
                       rf"smtpd\[{victim.pid}\]: short header; dropping the "
                       r"peer$", since=mark)
        b.wait_for_log(rf"bulwark/master\[{b.pid}\]: smtpd\[{victim.pid}\]: "
                       r"bad control frame \(short header\); killing it$",
                       since=mark)
        bh.wait_until(lambda: bh.proc_state(victim.pid) in (None, "Z"), 2,
                      what=f"smtpd[{victim.pid}] to be killed")
        b.wait_daemons("smtpd", b.workers, exclude=[victim.pid], timeout=5)
    assert {k: v for k, v in b.pids().items() if k != "smtpd"} == others
    bh.smtp_works(b.port, bh.HOSTNAME)


def test_empty_control_datagram_does_not_orphan_a_daemon(bulwark):
    """An empty datagram on a daemon's control socket must not leave a
    daemon the master can no longer steer. Either the master ends it as a
    protocol breaker, or it keeps managing it; both pass this test: after
    a reload, every new session sees the new configuration."""
    b = bulwark
    victim = b.daemons("smtpd")[0]
    with control_socket(b, victim) as s:
        send_raw(s, b"")
        time.sleep(0.3)
    b.write_config(hostname=NEW_HOSTNAME)
    b.reload()
    b.wait_for_log(r"reloaded; configuration generation 1$")
    # no session is open: the whole old generation must go
    bh.wait_until(lambda: bh.proc_state(victim.pid) in (None, "Z"), 5,
                  what=f"the old smtpd[{victim.pid}] to go away")
    wait_greeting(b.port, NEW_HOSTNAME)


def test_master_sigkill_daemons_follow(bulwark):
    """If the master dies, its daemons notice and exit, and the spool is
    free for a new master."""
    b = bulwark
    first = b.pid
    daemons = b.children()
    mark = b.log_mark()
    b.proc.kill()
    b.proc.wait(5)
    for p in daemons:
        bh.wait_until(lambda: bh.proc_starttime(p.pid) != p.starttime or
                      bh.proc_state(p.pid) in (None, "Z"), 5,
                      what=f"{p.kind}[{p.pid}] to exit after the master died")
        b.wait_for_log(rf"bulwark/{re.escape(p.kind)}\[{p.pid}\]: master "
                       r"went away", since=mark, timeout=1)
    # a new master takes the same spool and port
    b.start()
    assert b.pid != first
    assert (b.spool / "master.pid").read_text().strip() == str(b.pid)
    bh.smtp_check(b.port, bh.HOSTNAME)


# --- reload -----------------------------------------------------------------

NEW_HOSTNAME = "relay.example.test"


def wait_greeting(port, hostname, timeout=5.0):
    """Until a new session's greeting names hostname; then it must keep
    doing so."""
    bh.wait_until(lambda: bh.smtp_check(port).split()[0] == hostname,
                  timeout, interval=0.05, what=f"a greeting from {hostname}")
    for _ in range(2 * 3):
        bh.smtp_check(port, hostname)


def test_reload_changes_hostname(bulwark):
    b = bulwark
    before = b.pids()
    master_pid = b.pid
    # a session opened before the reload
    s, code, greeting = bh.smtp_connect(b.port)
    try:
        assert code == 220 and greeting.startswith(bh.HOSTNAME)
        assert s.noop()[0] == 250

        mark = b.log_mark()
        b.write_config(hostname=NEW_HOSTNAME)
        b.reload()
        b.wait_for_log(rf"bulwark/master\[{master_pid}\]: reloaded; "
                       r"configuration generation 1$", since=mark)
        for k in ("lookup", "qmgr", "deliver-local"):
            b.wait_for_log(rf"bulwark/{k}\[{before[k][0]}\]: configuration "
                           r"reloaded$", since=mark)
        new = b.wait_daemons("smtpd", b.workers, exclude=before["smtpd"],
                             timeout=5)
        wait_greeting(b.port, NEW_HOSTNAME)

        # the master and the long-lived daemons kept their pids
        assert b.alive() and b.pid == master_pid
        after = b.pids()
        for k in ("lookup", "qmgr", "deliver-local"):
            assert after[k] == before[k], f"{k}: {before[k]} -> {after[k]}"
        assert set(after["smtpd"]) - set(before["smtpd"]) == \
            {p.pid for p in new}

        # the old session is still served
        code, msg = s.noop()
        assert code == 250, f"NOOP after the reload: {code} {msg!r}"
        bh.smtp_quit(s)
    finally:
        s.close()
    # the old generation, idle now, goes away by itself
    bh.wait_until(lambda: not any(bh.proc_state(p) not in (None, "Z")
                                  for p in before["smtpd"]),
                  5, what="the old smtpd generation to exit")
    assert b.pids()["smtpd"] == sorted(p.pid for p in new)


def test_reload_refuses_broken_config(bulwark):
    b = bulwark
    before = b.pids()
    good = b.conf.read_text()
    mark = b.log_mark()
    b.write_config(text=good.replace(bh.HOSTNAME, NEW_HOSTNAME)
                   + "frobnicate yes\n")
    b.reload()
    b.wait_for_log(rf"bulwark/master\[{b.pid}\]: reload refused.*"
                   rf"{re.escape(str(b.conf))}:\d+: ", since=mark)
    # nothing restarted, the old configuration is in force
    time.sleep(0.3)
    assert b.alive()
    assert b.pids() == before
    for _ in range(4):
        bh.smtp_check(b.port, bh.HOSTNAME)
    assert not b.log_has("configuration reloaded", since=mark)

    # and a good configuration afterwards is still taken
    b.write_config(text=good)
    b.reload()
    b.wait_for_log(r"reloaded; configuration generation 1$", since=mark)
    b.wait_daemons("smtpd", b.workers, exclude=before["smtpd"], timeout=5)
    bh.smtp_works(b.port, bh.HOSTNAME)


def test_reload_refused_when_a_listener_cannot_bind(bulwark):
    b = bulwark
    before = b.pids()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        busy = squatter.getsockname()[1]
        mark = b.log_mark()
        b.write_config(hostname=NEW_HOSTNAME, listens=[b.port, busy])
        b.reload()
        b.wait_for_log(rf"bulwark/master\[{b.pid}\]: reload refused.*"
                       rf"127\.0\.0\.1:{busy}", since=mark)
        time.sleep(0.3)
        assert b.pids() == before
        for _ in range(4):
            bh.smtp_check(b.port, bh.HOSTNAME)
    # the port it kept is still open in the master after the failed try
    assert b.alive()
    bh.smtp_check(b.port, bh.HOSTNAME)


def test_reload_changes_the_number_of_workers(bulwark):
    b = bulwark
    before = b.pids()
    mark = b.log_mark()
    b.write_config(workers=3)
    b.reload()
    b.wait_for_log(r"reloaded; configuration generation 1$", since=mark)
    b.wait_daemons("smtpd", 3, exclude=before["smtpd"], timeout=5)
    bh.wait_until(lambda: not any(bh.proc_state(p) not in (None, "Z")
                                  for p in before["smtpd"]),
                  5, what="the old smtpd generation to exit")
    assert len(b.pids()["smtpd"]) == 3
    bh.smtp_works(b.port, bh.HOSTNAME)


def test_reload_adds_and_removes_a_listener(bulwark):
    b = bulwark
    port2 = bh.free_port()
    mark = b.log_mark()
    b.write_config(listens=[b.port, port2])
    b.reload()
    b.wait_for_log(r"reloaded; configuration generation 1$", since=mark)
    bh.smtp_works(port2, bh.HOSTNAME)
    bh.smtp_check(b.port, bh.HOSTNAME)

    # and taken away again
    mark = b.log_mark()
    b.write_config(listens=[b.port])
    b.reload()
    b.wait_for_log(r"reloaded; configuration generation 2$", since=mark)

    def closed():
        try:
            with socket.create_connection(("127.0.0.1", port2), timeout=1):
                return False
        except ConnectionRefusedError:
            return True
    bh.wait_until(closed, 5, interval=0.05, what=f"port {port2} to close")
    bh.smtp_check(b.port, bh.HOSTNAME)


# --- stop -------------------------------------------------------------------

def test_sigterm_leaves_nothing_behind(bulwark):
    b = bulwark
    children = b.children()
    recorded = {p.pid: p.starttime for p in children}
    recorded[b.pid] = bh.proc_starttime(b.pid)
    assert len(children) == b.workers + 3
    # a session in progress does not hold the stop up
    s, code, _ = bh.smtp_connect(b.port)
    try:
        assert code == 220
        mark = b.log_mark()
        t0 = time.monotonic()
        rc = b.stop(timeout=bh.STOP_TIMEOUT)
        took = time.monotonic() - t0
    finally:
        s.close()
    assert rc == 0, f"master exited with {rc}"
    assert took < bh.STOP_TIMEOUT
    b.wait_for_log(rf"bulwark/master\[{b.pid}\]: stopped$", since=mark,
                   timeout=1)
    left = [pid for pid, st in recorded.items()
            if bh.proc_starttime(pid) == st and
            bh.proc_state(pid) not in (None, "Z")]
    assert not left, f"still running after the master exited: {left}"
    assert not b.wait_no_leftovers(), b.leftovers()
