"""Fixtures for the end-to-end tests: a real kube-apiserver (with etcd) for the session.

The binaries come from ``scripts/e2e-build.sh`` (``scripts/e2e.sh`` builds them and runs
these tests). Without them a test skips on a developer's machine and fails with
``CI=true``. Binaries that are there but do not start fail the test everywhere: that is a
real failure, never a reason to skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import require
from tests.e2e.cluster import Binaries, Cluster, ClusterError


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: runs against a real kube-apiserver and etcd (tests/e2e)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def e2e_binaries() -> Binaries:
    found = Binaries.find()
    require(isinstance(found, Binaries), str(found))
    assert isinstance(found, Binaries)
    return found


def start_cluster(binaries: Binaries, workdir: object) -> Cluster:
    from pathlib import Path

    try:
        return Cluster(binaries, Path(str(workdir))).start()
    except ClusterError as exc:
        pytest.fail(f"the control plane did not start:\n{exc}", pytrace=False)


@pytest.fixture(scope="session")
def cluster(e2e_binaries: Binaries, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """etcd + kube-apiserver for the whole session (one per xdist worker)."""
    control_plane = start_cluster(e2e_binaries, tmp_path_factory.mktemp("cluster"))
    try:
        yield control_plane
    finally:
        control_plane.stop()


@pytest.fixture
def namespace(cluster: Cluster) -> str:
    """A fresh namespace (with its default ServiceAccount) for one test."""
    return cluster.create_namespace()
