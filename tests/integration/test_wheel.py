"""``maildesk demo`` from a built wheel installed in a fresh virtualenv, outside the source
tree: what ``pip install`` and the Docker image give a new operator."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
#: What a source distribution holds (see MANIFEST.in); the rest of the tree is not needed.
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "maildesk")


def _copy_sources(target: Path) -> None:
    target.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    shutil.copytree(ROOT / "config" / "examples", target / "config" / "examples")


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result  # type: ignore[no-any-return]


def test_demo_runs_from_an_installed_wheel(tmp_path: Path) -> None:
    source = tmp_path / "src"
    _copy_sources(source)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)])
    (wheel,) = dist.glob("maildesk-*.whl")

    # A bare virtualenv; the dependencies come from this environment (a .pth line), the
    # package itself only from the wheel.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    Path(site.stdout.strip(), "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ]
    )

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MAILDESK_CONFIG")}
    where = _run(
        [str(python), "-c", "import maildesk; print(maildesk.__file__)"], cwd=elsewhere, env=env
    )
    assert where.stdout.startswith(str(venv)), "the wheel's copy, not the source tree"
    demo = _run(
        [str(venv / "bin" / "maildesk"), "demo", "--policy", "hosting-support"],
        cwd=elsewhere,
        env=env,
    )
    assert "Balances at the end:" in demo.stdout
    assert "ticket(s)" in demo.stdout
    assert list(elsewhere.iterdir()) == [], "nothing left behind"
