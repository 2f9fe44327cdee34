"""What ships beside the code: the licence matches ``pyproject.toml``, and the systemd unit
in ``contrib/`` is valid (``systemd-analyze verify`` where it exists) and sandboxed."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "contrib" / "maildesk.service"

HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "RestrictSUIDSGID": "yes",
    "SystemCallArchitectures": "native",
    "MemoryDenyWriteExecute": "yes",
}


def test_license_file_is_the_agpl_that_pyproject_names() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "AGPL-3.0-or-later"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.split("\n")[0].strip() == "GNU AFFERO GENERAL PUBLIC LICENSE"
    assert text.split("\n")[1].strip() == "Version 3, 19 November 2007"
    assert "13. Remote Network Interaction; Use with the GNU General Public License." in text
    assert text.rstrip().endswith("<https://www.gnu.org/licenses/>.")


def _unit() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_the_unit_parses_and_is_sandboxed() -> None:
    unit = _unit()
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    command = service["ExecStart"].split()
    assert command[0].endswith("/maildesk") and command[-1] == "run"
    assert "--config" in command
    for key, value in HARDENING.items():
        assert service.get(key) == value, key
    assert service["StateDirectory"] == "maildesk"
    assert set(service["RestartPreventExitStatus"].split()) == {"2", "3"}


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point it at this environment's maildesk.
    here = Path(sys.executable).parent / "maildesk"
    unit = tmp_path / "maildesk.service"
    unit.write_text(UNIT.read_text().replace("/opt/maildesk/bin/maildesk", str(here)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    # Unknown keys and bad values are only warnings, with the file's name.
    assert str(unit) not in result.stderr, result.stderr
