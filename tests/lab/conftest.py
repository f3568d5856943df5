"""Integration tests on a real embedded lab: brought up once per session, torn down at the end."""
from __future__ import annotations

import os
import shutil

import pytest

from labgrader import inventory, lab as lablib, netns
from labgrader.remote.session import LabSession

SCENARIO = "bloc1-integration"


def pytest_collection_modifyitems(items):
    # The test that takes the lab down (and proves it leaves nothing) must run after every other lab test.
    items.sort(key=lambda item: item.get_closest_marker("lab_teardown") is not None)


def _require_host() -> None:
    if os.geteuid() == 0 and shutil.which("lxc-start") and shutil.which("vagrant"):
        return
    reason = "the embedded lab needs root, lxc and vagrant (run scripts/install)"
    if os.environ.get("LABGRADER_REQUIRE_LAB"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def embedded_lab():
    _require_host()
    the_lab = lablib.open_lab(SCENARIO)
    lablib.up(the_lab, print)
    yield the_lab
    lablib.down(the_lab, print)  # idempotent: the teardown test has usually done it already


@pytest.fixture(scope="session")
def lab_inventory(embedded_lab):
    return inventory.load(embedded_lab.dir / "inventory.yml")


@pytest.fixture
def remote(lab_inventory):
    """A LabSession whose calls run inside the lab's network namespace: `remote(lambda s: s.ssh(...).run(...))`."""
    session = LabSession(lab_inventory)

    def call(work):
        return netns.run_inside(lab_inventory.network_namespace, lambda: work(session))

    yield call
    netns.run_inside(lab_inventory.network_namespace, session.close)
