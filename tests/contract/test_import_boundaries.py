"""The import boundaries `make lint` enforces with import-linter (pyproject.toml, [tool.importlinter]).

The project must keep its contracts, and the same contracts must break on a forbidden import: the
second half runs `lint-imports` on a small fixture tree in tmp_path with the project's own contracts,
renamed onto the fixture's packages.
"""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# The contracts a fixture tree can exercise without copying every package of services.shared.
FIXTURE_CONTRACTS = ("services-independent", "shared-imports-no-service", "no-test-code-in-production",
                     "no-package-cycles")


def lint_imports(cwd: Path, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(LINT_IMPORTS), "--no-cache"] + (["--config", str(config)] if config else [])
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_the_project_keeps_its_import_contracts() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _project_contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return [contract for contract in config["contracts"] if contract["id"] in FIXTURE_CONTRACTS]


def _renamed(value: Any) -> Any:
    """The project's module names moved onto the fixture's roots (services -> fx_services, tests -> fx_tests)."""
    if isinstance(value, str):
        for root in ("services", "tests"):
            if value == root or value.startswith(root + "."):
                return "fx_" + value
        return value
    if isinstance(value, list):
        return [_renamed(item) for item in value]
    return value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_fixture(root: Path, modules: dict[str, str]) -> Path:
    """A fixture tree (every folder a package) and a config holding the project's contracts, renamed."""
    for dotted, source in modules.items():
        path = root.joinpath(*dotted.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        for folder in path.relative_to(root).parents:
            if folder != Path("."):
                (root / folder / "__init__.py").touch()
    lines = ["[tool.importlinter]", 'root_packages = ["fx_services", "fx_tests"]', ""]
    for contract in _project_contracts():
        lines.append("[[tool.importlinter.contracts]]")
        lines += [f"{key} = {_toml_value(value if key in ('id', 'name') else _renamed(value))}"
                  for key, value in contract.items()]
        lines.append("")
    config = root / "fixture.toml"
    config.write_text("\n".join(lines))
    return config


CLEAN = {
    "fx_services.shared.pki.certs": "def load_certificate(data): return data\n",
    "fx_services.shared.contracts.events": "TYPE = 'message.delivered'\n",
    "fx_services.directory.adapters.certificate_check": "from fx_services.shared.pki.certs import load_certificate\n",
    "fx_services.messaging.handlers.notices": "from fx_services.shared.contracts.events import TYPE\n",
    "fx_services.coordination.domain": "",
    "fx_services.dmp_bridge.domain": "",
    "fx_services.cli.main": "import fx_services.directory.adapters.certificate_check\n",
    "fx_tests.support.pki": "from fx_services.shared.pki.certs import load_certificate\n",
}


def test_the_fixture_tree_keeps_the_contracts(tmp_path: Path) -> None:
    config = write_fixture(tmp_path, CLEAN)
    result = lint_imports(tmp_path, config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(FIXTURE_CONTRACTS)} kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("changes", "contract", "chain"),
    [
        pytest.param({"fx_services.directory.adapters.certificate_check":
                      "import fx_services.messaging.handlers.notices\n"},
                     "Services are independent",
                     "fx_services.directory.adapters.certificate_check -> fx_services.messaging.handlers.notices",
                     id="a-service-imports-another"),
        pytest.param({"fx_services.shared.pki.certs": "import fx_services.messaging.handlers.notices\n"},
                     "services.shared imports no service",
                     "fx_services.shared.pki.certs -> fx_services.messaging.handlers.notices",
                     id="shared-imports-a-service"),
        pytest.param({"fx_services.messaging.adapters.operator": "from fx_tests.support.pki import load_certificate\n"},
                     "Production code imports no test code",
                     "fx_services.messaging.adapters.operator -> fx_tests.support.pki",
                     id="production-imports-the-test-pki"),
        pytest.param({"fx_services.shared.pki.certs": "import fx_services.shared.contracts.events\n",
                      "fx_services.shared.contracts.events": "import fx_services.shared.pki.certs\n"},
                     "No cycles are allowed in fx_services.shared", "made acyclic by removing 1 dependency",
                     id="a-package-cycle"),
    ],
)
def test_make_lint_fails_on_a_forbidden_import(
    tmp_path: Path, changes: dict[str, str], contract: str, chain: str
) -> None:
    result = lint_imports(tmp_path, write_fixture(tmp_path, {**CLEAN, **changes}))
    assert result.returncode == 1, result.stdout + result.stderr
    broken = " ".join(result.stdout.split("Broken contracts", 1)[1].split())  # the report wraps long lines
    assert contract in broken
    assert chain in broken
