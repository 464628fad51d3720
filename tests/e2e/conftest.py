"""pytest fixtures for Bulwark's end-to-end tests (see README.md)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bulwark_harness as bh  # noqa: E402


def pytest_collection_modifyitems(config, items):
    reason = bh.skip_reason()
    if reason is None:
        return
    mark = pytest.mark.skip(reason=reason)
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.fspath)).resolve().parent == here:
            item.add_marker(mark)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # lets fixtures know whether their test failed
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _finish(b, request):
    """Stops b and checks that it stopped cleanly and completely."""
    bh.finish(b, getattr(getattr(request.node, "rep_call", None), "failed",
                         False))


_start = bh.start_or_clean


@pytest.fixture
def bulwark(request):
    """A running master (2 smtpd workers, a free port on 127.0.0.1) in its
    own temporary directory; stopped and checked on teardown."""
    b = _start(bh.Bulwark())
    yield b
    _finish(b, request)


@pytest.fixture(scope="module")
def bulwark_shared(request):
    """One master shared by a module's read-only tests (tests that only
    look at it: nothing is killed, reloaded or reconfigured)."""
    b = _start(bh.Bulwark())
    yield b
    _finish(b, request)


@pytest.fixture
def workdir(tmp_path):
    """A scratch directory for configuration files of `bulwark -n`."""
    return tmp_path
