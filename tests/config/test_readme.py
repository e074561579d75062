import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_every_environment_variable_is_documented_in_the_readme() -> None:
    settings_source = (BASE_DIR / "config" / "settings.py").read_text()
    variables = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', settings_source))
    variables |= set(re.findall(r'"([A-Z_]+)" not in env', settings_source))
    assert {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "SECRET_KEY", "ALLOWED_HOSTS"} <= variables
    readme = (BASE_DIR / "README.md").read_text()
    undocumented = sorted(name for name in variables if f"`{name}`" not in readme)
    assert undocumented == []


def test_ci_runs_the_readme_test_command() -> None:
    ci = (BASE_DIR / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "make test" in (BASE_DIR / "README.md").read_text()
