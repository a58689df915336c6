"""Module aliases: an old import path resolves to the module object that now lives elsewhere.

The package was one flat folder before it had capability folders; paths such
as ``keras_i3d.fusion`` or ``keras_i3d.checkpoints`` are in users' code. A
`ModuleAliases` finder on ``sys.meta_path`` answers ``import keras_i3d.fusion``
with the module ``keras_i3d.model.fusion`` itself (the same object, not a
copy), so attributes, monkeypatching and ``isinstance`` checks behave as before.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Mapping
from types import ModuleType


class ModuleAliases(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """A finder and loader mapping alias module names to real module names.

    Args:
        table: ``{alias: real module name}``, e.g.
            ``{"keras_i3d.fusion": "keras_i3d.model.fusion"}``.
    """

    def __init__(self, table: Mapping[str, str]):
        self.table = dict(table)

    def find_spec(self, fullname: str, path=None, target=None) -> importlib.machinery.ModuleSpec | None:
        """A spec for an alias (loaded by this object), ``None`` for any other name."""
        if fullname not in self.table:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        """Imports the real module and hands it to the import system as the alias."""
        module = importlib.import_module(self.table[spec.name])
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the real module ran when it was imported; its own spec is put back."""
        alias_spec = module.__spec__
        if alias_spec is not None and alias_spec.loader is self:
            module.__spec__ = alias_spec.loader_state

    def resolve(self, fullname: str) -> ModuleType:
        """Imports an alias (or any module) by name."""
        return importlib.import_module(fullname)


def install(table: Mapping[str, str]) -> ModuleAliases:
    """Puts a `ModuleAliases` for ``table`` on ``sys.meta_path`` once (again: the installed one)."""
    for finder in sys.meta_path:
        if isinstance(finder, ModuleAliases) and finder.table == dict(table):
            return finder
    finder = ModuleAliases(table)
    sys.meta_path.append(finder)
    return finder
