"""The wheel: templates and examples ship inside it and load from the installed package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ml_systemization.steps import ARTIFACTS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(ROOT)],
        check=True,
        timeout=300,
    )  # fmt: skip
    (built,) = out.glob("ml_systemization_mcp-*.whl")
    return built


def test_the_wheel_contains_every_template_and_example(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for artifact in ARTIFACTS:
        assert f"ml_systemization/templates/{artifact}.md.j2" in names
    assert any(n.startswith("ml_systemization/examples/") and n.endswith(".json") for n in names)
    assert any(n.endswith("entry_points.txt") for n in names)
    # tools/list is served from it (ml_systemization/server/published.py).
    assert "ml_systemization/server/published_tools.json" in names


def test_every_template_loads_and_renders_from_the_installed_package(
    wheel: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
         str(wheel)],
        check=True,
        timeout=300,
    )  # fmt: skip
    script = (
        "import ml_systemization, ml_systemization.render as r\n"
        "from ml_systemization.examples import example_design\n"
        f"assert ml_systemization.__file__.startswith({str(target)!r}), ml_systemization.__file__\n"
        "d = r.builtin_templates_dir()\n"
        f"assert str(d).startswith({str(target)!r}), d\n"
        "renderer = r.Renderer()\n"
        "out = renderer.render_all(example_design('fraud_scorer'), design_id='d-x', revision=1)\n"
        "print(len(out), min(len(t) for t in out.values()))\n"
        "from ml_systemization.server.published import tool_definitions\n"
        "assert len(tool_definitions(export_dir=False)) > 20\n"
    )
    proc = subprocess.run(
        [sys.executable, "-s", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(target)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    count, shortest = proc.stdout.split()
    assert int(count) == len(ARTIFACTS)
    assert int(shortest) > 200
