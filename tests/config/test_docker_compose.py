import subprocess
from pathlib import Path

import pytest

from tests.conftest import docker_compose_command

BASE_DIR = Path(__file__).resolve().parents[2]


def test_docker_compose_file_is_valid() -> None:
    command = docker_compose_command()
    if command is None:
        pytest.skip("no docker compose client on this machine")
    result = subprocess.run(
        [*command, "-f", "docker-compose.yml", "config"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    for service in ("web:", "worker:", "beat:", "postgres:", "redis:"):
        assert service in result.stdout
    assert "healthcheck" in result.stdout
