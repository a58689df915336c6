"""Makes packages unimportable, in this process or (as source text) in a subprocess's script.

The one import-blocking ``sys.meta_path`` finder of the tests. A blocked import
raises ``ModuleNotFoundError("No module named 'x' (blocked by the test)")``,
as a missing package would. With ``hide=True`` even ``importlib.util.find_spec``
raises it (what keras_i3d's "is TensorFlow installed?" probe treats as absent);
otherwise the package is found and only importing it fails. This file imports only the standard library, so a
script can run its source (``script_prefix``) or import it by path
(``serving_checker.py`` sits beside it).
"""

import importlib.abc
import importlib.machinery
import sys
from pathlib import Path


class _Refuse(importlib.abc.Loader):
    def create_module(self, spec):
        raise ModuleNotFoundError(f"No module named {spec.name!r} (blocked by the test)", name=spec.name)

    def exec_module(self, module):
        pass


class BlockImports(importlib.abc.MetaPathFinder):
    """Refuses every module whose top-level package is in ``names``."""

    def __init__(self, names, hide=False):
        self.names = frozenset(names)
        self.hide = hide

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.names:
            if self.hide:
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return importlib.machinery.ModuleSpec(name, _Refuse())
        return None


def block(*names: str, hide: bool = False) -> BlockImports:
    """Installs a finder refusing ``names`` first on ``sys.meta_path``; returns it (remove it to undo)."""
    finder = BlockImports(names, hide)
    sys.meta_path.insert(0, finder)
    return finder


def script_prefix(*names: str, hide: bool = False) -> str:
    """Python source that, run first in a fresh interpreter, blocks ``names`` there."""
    return f"{Path(__file__).read_text()}\nblock(*{tuple(names)!r}, hide={hide!r})\n"
