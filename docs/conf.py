"""Sphinx configuration of the ed-brian documentation.

Build (from the repository root, with the ``docs`` extra installed)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
    python -m sphinx -W --keep-going -b html -D plot_gallery=0 docs docs/_build/html   # examples not run

No extension here downloads anything: the build works offline.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The package as checked out, also when it is not installed.
sys.path.insert(0, str(ROOT))

# The gallery runs the examples without a display.
os.environ.setdefault("MPLBACKEND", "Agg")

import ed_brian  # noqa: E402

project = "ed-brian"
author = "the ed-brian developers"
copyright = "2026, the ed-brian developers"
version = ed_brian.__version__
release = ed_brian.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
    "sphinxarg.ext",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip"]
templates_path: list[str] = []
nitpicky = False
# Rendered as code; no cross-reference to resolve.
default_role = "literal"
# Curly quotes and ellipses, but no dashes: "--flag" in help texts stays as typed.
smartquotes_action = "qe"

# -- autodoc -----------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_default_options = {"show-inheritance": True}
autosummary_generate = False
napoleon_google_docstring = True
napoleon_numpy_docstring = True
napoleon_use_rtype = False

# -- sphinx-gallery ----------------------------------------------------------
# Every examples/*.py is an example (filename_pattern matches every path), so
# all of them run when plot_gallery is on; -D plot_gallery=0 skips running
# them and still builds their pages and downloads (scripts and notebooks).
sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": True,
    "remove_config_comments": True,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "show_memory": False,
    "min_reported_time": 1,
}

# -- HTML --------------------------------------------------------------------
html_theme = "sphinx_rtd_theme"
html_title = f"ed-brian {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_depth": 3,
    "collapse_navigation": False,
}
html_show_sourcelink = True

# -- math --------------------------------------------------------------------
# MathJax is loaded by the reader's browser; the build itself needs no network.


# -- docstrings ----------------------------------------------------------------
# The package's docstrings are plain text that reads well in ``help()``; in
# reStructuredText, ``|w|`` (an absolute value) would be a substitution
# reference. Escape such pairs of bars outside inline literals, so that they
# show as written instead of failing the build.
import re  # noqa: E402

_BARS = re.compile(r"(?<![\\|])\|([^\s|`][^|`]*?(?<=\S))\|(?![|_\w])")


def _escape_bars(app, what, name, obj, options, lines):
    for k, line in enumerate(lines):
        parts = line.split("``")
        for m in range(0, len(parts), 2):  # outside ``inline literals``
            parts[m] = _BARS.sub(r"\\|\1\\|", parts[m])
        lines[k] = "``".join(parts)


def setup(app):
    app.connect("autodoc-process-docstring", _escape_bars)
