"""What the local-delivery tests (test_forward.py, test_local.py) share:
throwaway users, and a master started over an alias table of theirs."""

import subprocess

import bulwark_harness as bh
from test_aliases import _finish

NEWALIASES = bh.BUILD_DIR / "newaliases"

finish = _finish        # stops b and checks that nothing is left behind


useradd = bh.useradd
userdel = bh.userdel


def start(base, aliases, extra=()):
    """A master whose alias table is built from the text aliases (in
    base), with more configuration lines extra."""
    (base / "aliases").write_text(aliases)
    b = bh.Bulwark(extra=[f"alias-table hash:{base}/aliases", *extra])
    r = subprocess.run([str(NEWALIASES), "-f", str(b.conf)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return bh.start_or_clean(b)
