"""The documentation builds without a warning, and its generated parts are there.

Builds docs/ with Sphinx as a user would (``-W --keep-going``), without running
the gallery's examples (``-D plot_gallery=0``), into a temporary folder.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="Sphinx is not installed (pip install '.[docs]')")
pytest.importorskip("sphinx_gallery", reason="sphinx-gallery is not installed (pip install '.[docs]')")
pytest.importorskip("sphinxarg", reason="sphinx-argparse is not installed (pip install '.[docs]')")
pytest.importorskip("sphinx_rtd_theme", reason="sphinx-rtd-theme is not installed (pip install '.[docs]')")

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_docs_build_without_warnings(tmp_path):
    html = tmp_path / "html"
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q",
               "-D", "plot_gallery=0", "-d", str(tmp_path / "doctrees"), str(DOCS), str(html)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          cwd=DOCS.parent)
    assert done.returncode == 0, (
        f"sphinx exited with {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )

    cli = (html / "cli.html").read_text(encoding="utf-8")
    assert "--spike_max_rate" in cli, "the CLI reference lacks the train flags"
    for command_name in ("train", "evaluate", "export", "collect", "plot", "sweep"):
        assert command_name in cli
    api = (html / "api.html").read_text(encoding="utf-8")
    assert "load_run" in api, "the API reference does not document ed_brian.load_run"
    assert (html / "auto_examples" / "index.html").is_file(), "the example gallery was not built"
    assert (html / "index.html").is_file()
