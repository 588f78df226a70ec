import pytest

from tests.harness import create_template_database, drop_database

from .common import fault_prerequisites


@pytest.fixture(scope="session")
def fault_services() -> tuple[str, str]:
    """(DATABASE_URL, REDIS_URL) of the shared servers; skips when a prerequisite is missing."""
    found = fault_prerequisites()
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture(scope="session")
def template_database(fault_services):
    """A migrated database on the shared server that each test's stack clones in a second."""
    database_url, _ = fault_services
    name = create_template_database(database_url)
    yield name
    drop_database(database_url, name)
