"""Integration tests on a real embedded lab: brought up once per session, torn down at the end
(by the test marked lab_teardown, which tests/conftest.py runs after the others)."""
from __future__ import annotations

import os

import pytest

from labgrader import inventory, lab as lablib, netns
from labgrader.remote.session import GradingSession

from ..support import require_host

SCENARIO = "bloc1-integration"
# An instance of its own: the lab tests never touch the scenario self-tests' lab (named after the scenario).
# LABGRADER_TEST_INSTANCE lets two checkouts of the suite run side by side on one machine.
INSTANCE = os.environ.get("LABGRADER_TEST_INSTANCE", "labtests")


@pytest.fixture(scope="session")
def embedded_lab():
    require_host()
    the_lab = lablib.open_lab(SCENARIO, name=INSTANCE)
    lablib.up(the_lab, print)
    yield the_lab
    lablib.down(the_lab, print)  # idempotent: the teardown test has usually done it already


@pytest.fixture(scope="session")
def lab_inventory(embedded_lab):
    return inventory.load(embedded_lab.dir / "inventory.yml")


@pytest.fixture
def remote(lab_inventory):
    """A GradingSession whose calls run inside the lab's network namespace: `remote(lambda s: s.ssh(...).run(...))`."""
    session = GradingSession(lab_inventory)

    def call(work):
        return netns.run_inside(lab_inventory.network_namespace, lambda: work(session))

    yield call
    netns.run_inside(lab_inventory.network_namespace, session.close)
