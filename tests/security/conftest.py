"""Security tests run Sitthi as in production: the fault-test services serve it."""

from tests.resilience.conftest import (  # noqa: F401 - fixtures, registered by import
    collected_static,
    fault_database,
    fault_postgres,
    fault_redis,
    fault_run_files,
    fault_smtp,
    fault_stack,
)
