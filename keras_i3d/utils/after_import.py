"""Run a function right after a module is first imported, without importing it.

``import keras_i3d`` registers the package's Keras classes (so that
``keras.saving.load_model`` reads saved I3D models), but must not import Keras
itself: the ``keras-i3d`` command answers ``--help`` and ``presets`` without
starting a backend. `when_imported` runs the registration right after Keras
is imported, by whatever imports it, or at once if it already was.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable
from types import ModuleType


class _RunAfter(importlib.abc.Loader):
    """Wraps a module's loader: runs the module, then the finder's callbacks (once)."""

    def __init__(self, loader: importlib.abc.Loader, finder: _AfterImportFinder):
        self._loader = loader
        self._finder = finder

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        if module.__spec__ is not None and module.__spec__.loader is self:
            module.__spec__.loader = self._loader  # the module keeps its own loader
            module.__loader__ = self._loader
        self._finder.done()

    def __getattr__(self, name: str):  # get_resource_reader, is_package, get_code, ...
        return getattr(self._loader, name)


class _AfterImportFinder(importlib.abc.MetaPathFinder):
    """Finds ``name`` with the finders after it and wraps its loader, until the module has run.

    A spec asked for without importing (``importlib.util.find_spec``, as
    TensorFlow does for Keras) is wrapped too and simply never run.
    """

    def __init__(self, name: str):
        self.name = name
        self.callbacks: list[Callable[[], None]] = []
        self._searching = False

    def find_spec(self, fullname: str, path=None, target=None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name or self._searching:
            return None
        self._searching = True
        try:
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                spec = find(fullname, path, target) if find is not None and finder is not self else None
                if spec is not None:
                    if spec.loader is not None:
                        spec.loader = _RunAfter(spec.loader, self)
                    return spec
        finally:
            self._searching = False
        return None

    def done(self) -> None:
        """The module has run: leave the import system and call the callbacks."""
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            callback()


def when_imported(name: str, callback: Callable[[], None]) -> None:
    """Calls ``callback()`` right after top-level module ``name`` is imported (now, if it already is).

    Args:
        name: a top-level module name, e.g. ``"keras"``.
        callback: called once, with the module fully initialised.
    """
    if name in sys.modules:
        callback()
        return
    for finder in sys.meta_path:
        if isinstance(finder, _AfterImportFinder) and finder.name == name:
            finder.callbacks.append(callback)
            return
    finder = _AfterImportFinder(name)
    finder.callbacks.append(callback)
    sys.meta_path.insert(0, finder)
