"""Every keras_i3d name the README, the docs and the examples use resolves; old module paths are aliases.

Reads ``README.md``, ``docs/**/*.md`` and ``examples/*.py`` for ``keras_i3d.<dotted.path>``,
``from keras_i3d.x import a, b`` and ``import keras_i3d.x``, and resolves each: the longest
importable module prefix, then attributes.
"""

from __future__ import annotations

import importlib
import importlib.util
import re

import pytest

import keras_i3d
from tests.support import REPO_ROOT

pytestmark = pytest.mark.backend_independent

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = re.compile(rf"\bkeras_i3d(?:\.{_IDENT})+")
_FROM_IMPORT = re.compile(rf"^\s*from\s+(keras_i3d(?:\.{_IDENT})*)\s+import\s+(\([^)]*\)|[^\n#]+)", re.M)
_IMPORT = re.compile(rf"^\s*import\s+(keras_i3d(?:\.{_IDENT})*)", re.M)


def resolve(dotted: str):
    """The object ``dotted`` names: the longest importable module prefix, then getattr for the rest.

    Raises ImportError or AttributeError for a name that does not exist.
    """
    if dotted.endswith(".__main__"):  # importing it would run the command: found, not imported
        spec = importlib.util.find_spec(dotted)
        if spec is None:
            raise ImportError(f"no module {dotted!r}")
        return spec
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(f"no module in {dotted!r}")


def public_names(text: str) -> set[str]:
    """The keras_i3d names ``text`` uses (Python source or Markdown with code)."""
    names = set()
    for match in _FROM_IMPORT.finditer(text):
        module, imported = match.groups()
        for item in imported.strip("()").split(","):
            name = item.split(" as ")[0].strip()
            if re.fullmatch(_IDENT, name):
                names.add(f"{module}.{name}")
    names.update(match.group(1) for match in _IMPORT.finditer(text))
    for match in _DOTTED.finditer(text):
        name = match.group(0)
        # A file name (keras_i3d.weights.h5 is not a name), or a sentence's full stop.
        if not re.search(r"\.(py|md|txt|h5|json|keras|toml|cfg)$", name):
            names.add(name)
    return names


def _documents():
    paths = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "examples").glob("*.py"))]
    paths += sorted((REPO_ROOT / "docs").rglob("*.md")) if (REPO_ROOT / "docs").is_dir() else []
    return [p for p in paths if p.is_file()]


def _documented_names() -> list[tuple[str, str]]:
    pairs = set()
    for path in _documents():
        for name in public_names(path.read_text(encoding="utf-8")):
            pairs.add((path.relative_to(REPO_ROOT).as_posix(), name))
    return sorted(pairs)


def test_the_documents_name_something():
    names = {name for _, name in _documented_names()}
    assert len(_documents()) >= 2 and "keras_i3d.I3D" in names and len(names) > 20


@pytest.mark.parametrize(("document", "name"), _documented_names())
def test_documented_names_resolve(document, name):
    try:
        resolve(name)
    except (ImportError, AttributeError) as e:
        pytest.fail(f"{document} names {name}, which does not resolve: {e}")


def test_the_resolver_can_fail():
    assert resolve("keras_i3d.model.fusion.fuse_for_inference") is keras_i3d.fuse_for_inference
    with pytest.raises(AttributeError):
        resolve("keras_i3d.model.fusion.no_such_function")
    with pytest.raises(AttributeError):
        resolve("keras_i3d.no_such_module")
    assert public_names("from keras_i3d.video.decode import (read_gif, read_video as rv)\nx = keras_i3d.I3D(...)") == {
        "keras_i3d.video.decode",
        "keras_i3d.video.decode.read_gif",
        "keras_i3d.video.decode.read_video",
        "keras_i3d.I3D",
    }


@pytest.mark.parametrize("name", sorted(keras_i3d.__all__))
def test_every_exported_name_resolves(name):
    assert getattr(keras_i3d, name) is not None


@pytest.mark.parametrize(("alias", "target"), sorted(keras_i3d.MODULE_ALIASES.items()))
def test_old_module_paths_are_the_new_modules(alias, target):
    module = importlib.import_module(target)
    assert importlib.import_module(alias) is module
    assert getattr(keras_i3d, alias.rsplit(".", 1)[1]) is module


def test_packages_forward_the_old_modules_names():
    import keras_i3d.bench
    import keras_i3d.bench.pipeline
    import keras_i3d.cli
    import keras_i3d.cli.app
    import keras_i3d.inflation
    import keras_i3d.inflation.files
    import keras_i3d.inflation.inflate
    import keras_i3d.video
    import keras_i3d.video.decode

    assert keras_i3d.video.read_gif is keras_i3d.video.decode.read_gif
    assert keras_i3d.inflation.i3d_differences is keras_i3d.inflation.inflate.i3d_differences
    assert keras_i3d.inflation.load_inflated is keras_i3d.inflation.files.load_inflated
    assert keras_i3d.cli.build_parser is keras_i3d.cli.app.build_parser
    assert keras_i3d.bench.bench_pipeline is keras_i3d.bench.pipeline.bench_pipeline
    assert keras_i3d.bench.tfrecord_rate is keras_i3d.bench.pipeline.tfrecord_rate


def _names_documented_before_the_move() -> list[str]:
    lines = (REPO_ROOT / "tests" / "data" / "legacy" / "documented_names.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


@pytest.mark.parametrize("name", _names_documented_before_the_move())
def test_names_documented_before_the_move_still_resolve(name):
    """The README and examples of the last flat release named these (``keras_i3d.fusion.AUTO_IMPLEMENTATION``,
    ``keras_i3d.data.clip_dataset``, ...); users' code does too."""
    try:
        resolve(name)
    except (ImportError, AttributeError) as e:
        pytest.fail(f"{name}, documented before the move, does not resolve: {e}")


def test_names_documented_before_the_move_include_the_old_module_paths():
    names = set(_names_documented_before_the_move())
    assert {
        "keras_i3d.fusion.AUTO_IMPLEMENTATION",
        "keras_i3d.flops.model_macs",
        "keras_i3d.data.clip_dataset",
    } <= names
