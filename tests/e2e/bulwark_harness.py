"""Harness for Bulwark's end-to-end tests: runs a real master with its real
daemons in a temporary directory, and looks at them from the outside only
(the log on stderr, /proc, sockets, real SMTP clients).

Every wait here is bounded: a test that hangs is a test that lies.
"""

import atexit
import contextlib
import ctypes
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("BULWARK_BUILD_DIR") or REPO / "build").resolve()
MASTER_BIN = BUILD_DIR / "bulwark"

# comm (from the exec'd file name) -> the daemon's name in the logs
DAEMON_BINARIES = {
    "bulwark-smtpd": "smtpd",
    "bulwark-qmgr": "qmgr",
    "bulwark-lookup": "lookup",
    "bulwark-local": "deliver-local",
}
KINDS = ("smtpd", "qmgr", "lookup", "deliver-local")

# who each daemon must run as (None: stays root)
DAEMON_USERS = {
    "smtpd": "_bulwark",
    "qmgr": "_bulwarkq",
    "lookup": "_bulwarkl",
    "deliver-local": None,
}

HOSTNAME = "mail.example.test"
DOMAIN = "example.test"

START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0

# Masters still running when the interpreter exits (a crashed test run)
# are killed rather than left behind.
_live = set()


@atexit.register
def _kill_leftovers():
    for b in list(_live):
        with contextlib.suppress(Exception):
            b.kill_everything()


def skip_reason():
    """Why the end-to-end tests cannot run here, or None."""
    if os.geteuid() != 0:
        return ("the end-to-end tests start the real master, which must run "
                "as root (it binds ports and takes users and chroots); run "
                "them as root")
    for b in ("bulwark", "bulwark-smtpd", "bulwark-qmgr", "bulwark-lookup",
              "bulwark-local"):
        if not os.access(BUILD_DIR / b, os.X_OK):
            return (f"{BUILD_DIR / b} is missing: build first "
                    f"(meson compile -C build), or set BULWARK_BUILD_DIR")
    for u in ("_bulwark", "_bulwarkq", "_bulwarkl"):
        try:
            pwd.getpwnam(u)
        except KeyError:
            return f"system user {u} is missing (see the set-up script)"
    return None


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, interval=0.02, what="condition"):
    """Polls pred() until it returns something true; returns that, or
    raises AssertionError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for "
                                 f"{what}")
        time.sleep(interval)


# --- /proc ------------------------------------------------------------------

@dataclass
class Proc:
    pid: int
    ppid: int
    comm: str
    kind: str | None          # smtpd, qmgr, ... or None (not exec'd yet)
    uids: tuple               # real, effective, saved, fs
    gids: tuple
    groups: tuple
    nonewprivs: int | None
    cap_eff: int
    cap_prm: int
    root: str | None          # readlink /proc/PID/root
    starttime: int
    cmdline: list = field(default_factory=list)

    @property
    def instance_id(self):
        """The -i argument the master gave: the id peers log ("smtpd#4")."""
        try:
            return int(self.cmdline[self.cmdline.index("-i") + 1])
        except (ValueError, IndexError):
            return None


def proc_starttime(pid):
    """Field 22 of /proc/PID/stat, or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    # the comm field may hold spaces and parentheses: split after the last ')'
    rest = s[s.rindex(")") + 2:].split()
    return int(rest[19])


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    return s[s.rindex(")") + 2:].split()[0]


def read_proc(pid):
    """A Proc for pid, or None if it is gone (or a zombie)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = [a.decode(errors="replace")
                       for a in f.read().split(b"\0") if a]
        try:
            root = os.readlink(f"/proc/{pid}/root")
        except OSError:
            root = None
    except OSError:
        return None
    fields = {}
    for line in status.splitlines():
        k, _, v = line.partition(":")
        fields[k] = v.strip()
    if fields.get("State", "").startswith("Z"):
        return None
    comm = fields.get("Name", "")
    st = proc_starttime(pid)
    if st is None:
        return None
    nnp = fields.get("NoNewPrivs")
    return Proc(
        pid=pid,
        ppid=int(fields["PPid"]),
        comm=comm,
        kind=DAEMON_BINARIES.get(comm),
        uids=tuple(int(x) for x in fields["Uid"].split()),
        gids=tuple(int(x) for x in fields["Gid"].split()),
        groups=tuple(int(x) for x in fields.get("Groups", "").split()),
        nonewprivs=int(nnp) if nnp is not None else None,
        cap_eff=int(fields.get("CapEff", "0"), 16),
        cap_prm=int(fields.get("CapPrm", "0"), 16),
        root=root,
        starttime=st,
        cmdline=cmdline,
    )


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def socket_inodes(pid):
    """{fd: inode} of the sockets a process holds."""
    out = {}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for fd in fds:
        try:
            t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", t)
        if m:
            out[int(fd)] = int(m.group(1))
    return out


def unix_peers():
    """{inode: peer inode} of every connected AF_UNIX socket, from ss(8)
    (the kernel tells peers only through sock_diag)."""
    r = subprocess.run(["ss", "-x", "-a", "-H"], capture_output=True,
                       text=True, timeout=10, check=True)
    peers = {}
    for line in r.stdout.splitlines():
        # Netid State Recv-Q Send-Q Local-Address Port Peer-Address Port;
        # unnamed sockets show "*" as the address, the inode as the port
        f = line.split()
        if len(f) < 8:
            continue
        with contextlib.suppress(ValueError):
            peers[int(f[-3])] = int(f[-1])
    return peers


_libc = ctypes.CDLL(None, use_errno=True)
SYS_pidfd_getfd = 438


def pidfd_getfd(pid, fd):
    """A duplicate, in this process, of descriptor fd of process pid."""
    pidfd = os.pidfd_open(pid)
    try:
        n = _libc.syscall(SYS_pidfd_getfd, pidfd, fd, 0)
        if n < 0:
            e = ctypes.get_errno()
            raise OSError(e, f"pidfd_getfd({pid}, {fd}): {os.strerror(e)}")
        return n
    finally:
        os.close(pidfd)


# --- test users ---------------------------------------------------------------

def userdel(name):
    """Removes a test user and its home, if it exists."""
    with contextlib.suppress(KeyError):
        pwd.getpwnam(name)
        subprocess.run(["userdel", "-r", name], capture_output=True,
                       timeout=30)


def useradd(name, home):
    """A test user with its home at home (made), no login shell; any older
    user of that name is removed first."""
    userdel(name)
    subprocess.run(["useradd", "-m", "-d", str(home), "-s",
                    "/usr/sbin/nologin", name], check=True,
                   capture_output=True, timeout=30)


# --- SMTP -------------------------------------------------------------------

def smtp_connect(port, host="127.0.0.1", timeout=5.0):
    """Connects and reads the greeting; returns (smtp, code, text)."""
    s = smtplib.SMTP(timeout=timeout)
    try:
        code, msg = s.connect(host, port)
    except Exception:
        s.close()
        raise
    return s, code, msg.decode(errors="replace")


def smtp_quit(s):
    """Sends QUIT; the answer must be 221 before the close."""
    try:
        code, msg = s.docmd("QUIT")
    except smtplib.SMTPServerDisconnected:
        raise AssertionError("QUIT: the server closed without 221")
    finally:
        s.close()
    assert code == 221, f"QUIT answered {code} {msg!r}"
    return code


def smtp_check(port, hostname=None, timeout=5.0):
    """One short session: 220 greeting (naming hostname if given), NOOP is
    answered 250, then QUIT (see smtp_quit). Returns the greeting text."""
    s, code, msg = smtp_connect(port, timeout=timeout)
    try:
        assert code == 220, f"greeting {code} {msg!r}"
        if hostname is not None:
            assert msg.split()[0] == hostname, \
                f"greeting {msg!r} does not name {hostname}"
        code, nmsg = s.noop()
        assert code == 250, f"NOOP answered {code} {nmsg!r}"
        smtp_quit(s)
    finally:
        s.close()
    return msg


def smtp_works(port, hostname=None, timeout=5.0):
    """smtp_check, retried until it passes or timeout passes."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            return smtp_check(port, hostname, timeout=max(
                1.0, deadline - time.monotonic()))
        except (OSError, smtplib.SMTPException, AssertionError) as e:
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"SMTP on port {port} does not work: "
                                 f"{last!r}")
        time.sleep(0.05)


# --- the master -------------------------------------------------------------

def config_text(port, spool, hostname=HOSTNAME, workers=2, extra=(),
                listens=None):
    lines = [
        "# written by the end-to-end harness",
        f"hostname {hostname}",
        f"local-domains {DOMAIN}",
    ]
    for p in (listens if listens is not None else [port]):
        lines.append(f"listen 127.0.0.1:{p}")
    lines += [
        f"spool-directory {spool}",
        f"smtpd-workers {workers}",
    ]
    lines += list(extra)
    return "\n".join(lines) + "\n"


class Bulwark:
    """One master in its own temporary directory.

    b = Bulwark(); b.start(); ...; b.stop()   (the fixture does this)
    """

    def __init__(self, workers=2, hostname=HOSTNAME, base=None, extra=()):
        self.dir = Path(tempfile.mkdtemp(prefix="bulwark-e2e-", dir=base))
        self.spool = self.dir / "spool"
        self.conf = self.dir / "bulwark.conf"
        self.logpath = self.dir / "bulwark.log"
        self.port = free_port()
        self.workers = workers
        self.hostname = hostname
        # more configuration lines ("message-size-limit 10K", ...) for
        # every configuration write_config() makes
        self.extra = tuple(extra)
        self.proc = None
        self._logf = None
        self.returncode = None
        self.seen = {}          # pid -> starttime of every process seen
        self.write_config()

    # configuration

    def write_config(self, text=None, **kw):
        """Writes the configuration (the default one, with overrides for
        config_text's arguments, or text as given)."""
        if text is None:
            args = dict(port=self.port, spool=self.spool,
                        hostname=self.hostname, workers=self.workers,
                        extra=self.extra)
            args.update(kw)
            text = config_text(**args)
        tmp = self.conf.with_suffix(".new")
        tmp.write_text(text)
        os.replace(tmp, self.conf)
        return text

    # life

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=START_TIMEOUT):
        assert self.proc is None or self.proc.poll() is not None, \
            "already running"
        if getattr(self, "_logf", None) is not None:
            self._logf.close()
        self._logf = open(self.logpath, "ab", buffering=0)
        self.proc = subprocess.Popen(
            [str(MASTER_BIN), "-d", "-f", str(self.conf)],
            stdin=subprocess.DEVNULL, stdout=self._logf, stderr=self._logf,
            start_new_session=True, close_fds=True)
        _live.add(self)
        self.seen[self.proc.pid] = proc_starttime(self.proc.pid)
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.kill_everything()
            raise
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout=START_TIMEOUT):
        """Waits until every daemon is up and has dropped its privileges,
        and the SMTP port greets."""
        deadline = time.monotonic() + timeout

        def settled():
            if not self.alive():
                raise AssertionError(
                    f"master exited with {self.proc.returncode}:\n"
                    + self.log_tail())
            return self.settled()
        wait_until(settled, timeout, what="the daemons to start")
        smtp_works(self.port, timeout=max(0.5, deadline - time.monotonic()))

    def settled(self):
        """True when exactly the expected daemons run, each exec'd and, if
        it drops privileges, no longer root."""
        ch = self.children()
        counts = {k: 0 for k in KINDS}
        for p in ch:
            if p.kind is None:
                return False
            if DAEMON_USERS[p.kind] is not None and 0 in p.uids:
                return False
            counts[p.kind] += 1
        return counts == {"smtpd": self.workers, "qmgr": 1, "lookup": 1,
                          "deliver-local": 1}

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then wait; returns the master's exit status. Leaves
        nothing running even on failure (SIGKILL after timeout)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.record()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill_everything()
                raise AssertionError(f"master did not exit within {timeout}s "
                                     "of SIGTERM:\n" + self.log_tail())
        self.returncode = self.proc.returncode
        _live.discard(self)
        return self.returncode

    def leftovers(self):
        """Processes of this master still running: any pid we saw (same
        start time, so not a reused pid), and anything whose stderr is
        our log file."""
        left = {}
        for pid, st in self.seen.items():
            if st is not None and proc_starttime(pid) == st and \
                    proc_state(pid) not in (None, "Z"):
                left[pid] = "recorded"
        log = str(self.logpath)
        for pid in all_pids():
            if pid == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/2") == log and \
                        proc_state(pid) not in (None, "Z"):
                    left[pid] = "writes our log"
        return left

    def wait_no_leftovers(self, timeout=5.0):
        """The children may take a moment to be reaped after the master;
        returns what is still left after timeout (empty if nothing)."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.leftovers()
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(0.05)

    def crash(self, timeout=10.0):
        """SIGKILL of the master alone, as a crash would do it: its
        daemons exit when their control sockets close. Waits until no
        process of this master is left and returns what still runs after
        timeout (empty if nothing). start() then starts a new master on
        the same spool and configuration."""
        assert self.alive(), "master is not running"
        self.record()
        self.proc.kill()
        self.proc.wait(timeout)
        return self.wait_no_leftovers(timeout)

    def kill_everything(self):
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        for pid in self.leftovers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _live.discard(self)

    def cleanup(self):
        with contextlib.suppress(Exception):
            self._logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # signals

    def signal(self, sig):
        assert self.alive(), "master is not running"
        self.proc.send_signal(sig)

    def reload(self):
        self.signal(signal.SIGHUP)

    # processes

    def children(self):
        """The master's children (Proc), recorded for the leftover check."""
        if self.proc is None:
            return []
        out = []
        for pid in all_pids():
            p = read_proc(pid)
            if p is not None and p.ppid == self.proc.pid:
                out.append(p)
                self.seen[pid] = p.starttime
        return out

    def record(self):
        self.children()

    def zombies(self):
        """Children the master has not reaped."""
        if self.proc is None:
            return []
        out = []
        for pid in all_pids():
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"/proc/{pid}/stat") as f:
                    st = f.read()
                rest = st[st.rindex(")") + 2:].split()
                if rest[0] == "Z" and int(rest[1]) == self.proc.pid:
                    out.append(pid)
        return out

    def master_proc(self):
        return read_proc(self.proc.pid)

    def daemons(self, kind):
        return [p for p in self.children() if p.kind == kind]

    def daemon(self, kind):
        """The one daemon of that kind (asserts there is exactly one)."""
        d = self.daemons(kind)
        assert len(d) == 1, f"expected one {kind}, found {d}"
        return d[0]

    def pids(self):
        """{kind: sorted pids} of the running daemons."""
        out = {k: [] for k in KINDS}
        for p in self.children():
            if p.kind is not None:
                out[p.kind].append(p.pid)
        return {k: sorted(v) for k, v in out.items()}

    def wait_daemons(self, kind, count, exclude=(), timeout=2.0,
                     dropped=True):
        """Waits until count daemons of kind that are not in exclude run
        (and, if dropped, all past their privilege drop); returns them.
        The excluded ones may still run (a retired generation)."""
        def ok():
            d = [p for p in self.daemons(kind) if p.pid not in exclude]
            if len(d) != count:
                return None
            if dropped and DAEMON_USERS[kind] is not None and \
                    any(0 in p.uids for p in d):
                return None
            return d
        return wait_until(ok, timeout, what=f"{count} new {kind}")

    # the log

    def log(self, since=0):
        with open(self.logpath, "rb") as f:
            f.seek(since)
            return f.read().decode(errors="replace")

    def log_mark(self):
        """An offset: wait_for_log(..., since=mark) sees only later lines."""
        return os.path.getsize(self.logpath)

    def log_tail(self, n=60):
        return "\n".join(self.log().splitlines()[-n:])

    def wait_for_log(self, regex, timeout=5.0, since=0):
        """Waits for a line matching regex after offset since; returns the
        match."""
        rx = re.compile(regex, re.M)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log(since))
            if m:
                return m
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"no log line matching {regex!r} within {timeout}s; "
                    f"log since mark:\n{self.log(since)[-4000:]}")
            time.sleep(0.02)

    def log_has(self, regex, since=0):
        return re.search(regex, self.log(since), re.M) is not None


def start_or_clean(b):
    """Starts b; if it does not come up, prints its log, leaves nothing
    behind and raises. Returns b."""
    try:
        b.start()
    except BaseException:
        print(b.log_tail(200))
        b.kill_everything()
        b.cleanup()
        raise
    return b


def finish(b, failed=False):
    """Stops b and checks that it stopped cleanly and completely; its log
    is printed when the test failed (or BULWARK_E2E_VERBOSE is set), its
    directory kept when BULWARK_E2E_KEEP is set."""
    try:
        rc = b.stop()
        left = b.wait_no_leftovers()
    finally:
        if failed or os.environ.get("BULWARK_E2E_VERBOSE"):
            print(f"--- {b.logpath} (last lines) ---")
            print(b.log_tail(200))
        b.kill_everything()
        if os.environ.get("BULWARK_E2E_KEEP"):
            print(f"kept {b.dir}")
        else:
            b.cleanup()
    assert rc == 0, f"master exited with status {rc} after SIGTERM"
    assert not left, f"processes left behind after the master: {left}"


def run_check(conf, timeout=10):
    """bulwark -n -f conf: returns the CompletedProcess."""
    return subprocess.run([str(MASTER_BIN), "-n", "-f", str(conf)],
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def make_cert(directory):
    """A self-signed certificate and key (mode 0600) in directory."""
    directory = Path(directory)
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-subj", "/CN=test", "-days", "2",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    return cert, key
