"""Build hook: ship the example contracts inside the package, for ``maildesk demo``.

``config/examples/`` stays their one source (the docs and tests read them there);
the built package gets a copy in ``maildesk/demo/examples/``. Everything else about
the build is in ``pyproject.toml``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

EXAMPLES = Path(__file__).resolve().parent / "config" / "examples"


class BuildWithExamples(build_py):
    """``build_py`` that also copies ``config/examples/*.toml`` into the demo package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "maildesk" / "demo" / "examples"
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(EXAMPLES.glob("*.toml")):
            shutil.copyfile(path, target / path.name)


setup(cmdclass={"build_py": BuildWithExamples})
