"""Build hook: ship the repository's ``events/`` and ``strategies/`` inside the package.

Everything else about the build is declared in ``pyproject.toml``. The two folders stay at the
repository's root, where users edit them and the docs point; a wheel (or a non-editable
``pip install .``) gets a copy as ``backtest/_shipped/events`` and ``backtest/_shipped/strategies``
so that the installed package finds its catalog and strategies wherever it runs
(:mod:`backtest.resources`). Editable installs read the root folders directly.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("events", "strategies")
#: what is copied from each shipped folder (catalog files, strategy files, their READMEs)
PATTERNS = ("*.yaml", "*.yml", "*.csv", "*.toml", "*.md")


class BuildPyWithShippedData(build_py):
    """``build_py`` that also copies ``events/`` and ``strategies/`` into the package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's folders
            return
        for name in SHIPPED:
            source = ROOT / name
            if not source.is_dir():
                raise SystemExit(f"setup.py: the {name}/ folder is missing from {ROOT}")
            target = Path(self.build_lib) / "backtest" / "_shipped" / name
            if target.exists():
                shutil.rmtree(target)
            for pattern in PATTERNS:
                for file in sorted(source.rglob(pattern)):
                    dest = target / file.relative_to(source)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(file, dest)


setup(cmdclass={"build_py": BuildPyWithShippedData})
