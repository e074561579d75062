import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import docker_compose_command

BASE_DIR = Path(__file__).resolve().parents[2]
PROXY = "proxy"


def compose_config() -> dict[str, Any]:
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
    return yaml.safe_load(result.stdout)


def mount(volume: str | dict[str, Any]) -> tuple[str, str, bool]:
    """(source, target, read-only) from either syntax: docker-compose v1 prints
    "source:target:ro", docker compose v2 a mapping."""
    if isinstance(volume, dict):
        return (volume["source"], volume["target"], bool(volume.get("read_only")))
    source, target, *options = volume.split(":")
    return (source, target, "ro" in options)


def test_docker_compose_file_is_valid() -> None:
    services = compose_config()["services"]
    for service in ("proxy", "web", "worker", "beat", "postgres", "redis"):
        assert service in services
    assert all("healthcheck" in services[name] for name in ("web", "worker", "beat"))


def test_only_the_proxy_publishes_a_port() -> None:
    services = compose_config()["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {PROXY}
    ports = {str(port.get("published")) for port in services[PROXY]["ports"]}
    assert ports == {"80", "443"}


def test_the_app_trusts_exactly_the_one_proxy_in_front_of_it() -> None:
    services = compose_config()["services"]
    for name in ("web", "worker", "beat"):
        assert str(services[name]["environment"]["TRUSTED_PROXY_COUNT"]) == "1"
        assert str(services[name]["environment"]["SECURE_PROXY_SSL_HEADER"]) == "true"
    mounts = [mount(volume) for volume in services[PROXY]["volumes"]]
    assert (str(BASE_DIR / "deploy" / "Caddyfile"), "/etc/caddy/Caddyfile", True) in mounts


def test_the_caddyfile_sets_the_headers_the_app_reads() -> None:
    lines = [
        line.split("#", 1)[0].strip()
        for line in (BASE_DIR / "deploy" / "Caddyfile").read_text().splitlines()
    ]
    directives = [line for line in lines if line]
    assert directives[0] == "{$SITE_ADDRESS:localhost} {"  # automatic TLS for that host
    assert "reverse_proxy web:8000 {" in directives
    # Replaced with the connecting address, so a forged entry never reaches the app.
    assert "header_up X-Forwarded-For {remote_host}" in directives
    assert "header_up X-Forwarded-Proto {scheme}" in directives
    assert not any(re.match(r"trusted_proxies\b", line) for line in directives)
