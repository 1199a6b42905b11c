"""Where the network runs: Brian2's runtime device with a code generation target."""

from __future__ import annotations

from brian2 import prefs


def use_runtime(codegen: str = "auto") -> str:
    """Select the runtime device's code generation target and return it.

    'auto' takes cython when a C compiler works and numpy otherwise (Brian2's
    own rule); compiled cython code is cached under ~/.cython between runs.
    """
    prefs.codegen.target = codegen
    return codegen
