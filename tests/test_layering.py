"""The package is a stack of floors (see DESIGN.md): a module imports only from its own floor or
below, and no group of modules imports one another in a circle.

An `ast` walk over every module of `minikeras` finds all internal imports, at module level and
inside functions alike, maps both ends to their floor, and fails on an upward import or a cycle
that the allow-list below does not name. Run this file directly to print the counts.
"""
import ast
import pathlib

PACKAGE_DIR = pathlib.Path(__file__).resolve().parents[1] / "minikeras"

# Module-name prefix -> floor; the longest matching prefix wins.
FLOOR_OF_PREFIX = {
    "minikeras.core": 0,
    "minikeras.ops": 1,
    "minikeras.activations": 2,
    "minikeras.initializers": 2,
    "minikeras.regularizers": 2,
    "minikeras.constraints": 2,
    "minikeras.losses": 2,
    "minikeras.metrics": 2,
    "minikeras.optimizers": 2,
    "minikeras.callbacks": 2,
    "minikeras.engine": 3,
    "minikeras.layers": 4,
    "minikeras.models": 5,
    "minikeras.saving": 6,
    "minikeras": 7,  # facades: backend, utils, preprocessing, datasets, the package __init__
}
FLOOR_NAMES = ["core", "ops", "building blocks", "engine", "layers", "models", "saving", "facades"]

# (importing module, imported module): reason. Only these imports may point upward or close a
# cycle; each is function-local, so it runs after both modules are loaded.
ALLOWED = {
    ("minikeras.models.training", "minikeras.saving"):
        "Model.save/save_weights/load_weights are thin calls into the file formats",
    ("minikeras.models", "minikeras.saving"):
        "keras.models.save_model/load_model are public names of keras.models",
    ("minikeras.models.training", "minikeras.models.functional"):
        "Model.__new__ returns a Functional for Model(inputs, outputs), as Keras 3 does",
}


def module_name(path):
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules():
    return {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def floor_of(module):
    prefix = max((p for p in FLOOR_OF_PREFIX if module == p or module.startswith(p + ".")),
                  key=len)
    return FLOOR_OF_PREFIX[prefix]


class _ImportCollector(ast.NodeVisitor):
    """(target module, line, inside a function?) for every internal import of one module."""

    def __init__(self, module, is_package, modules):
        self.package = module if is_package else module.rpartition(".")[0]
        self.modules = modules
        self.function_depth = 0
        self.found = []

    def _visit_function(self, node):
        self.function_depth += 1
        self.generic_visit(node)
        self.function_depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _visit_function

    def _add(self, target, node):
        if target == "minikeras" or target.startswith("minikeras."):
            self.found.append((target, node.lineno, self.function_depth > 0))

    def visit_Import(self, node):
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node):
        if node.level:
            base = self.package.split(".")[: len(self.package.split(".")) - node.level + 1]
            base = ".".join(base + ([node.module] if node.module else []))
        else:
            base = node.module
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            self._add(submodule if submodule in self.modules else base, node)


def collect_imports():
    """{module: [(target, line, is_function_local), ...]} over the whole package."""
    modules = all_modules()
    imports = {}
    for module, path in modules.items():
        collector = _ImportCollector(module, path.name == "__init__.py", modules)
        collector.visit(ast.parse(path.read_text(), str(path)))
        imports[module] = [(t, line, local) for t, line, local in collector.found if t != module]
    return imports


def upward_imports(imports):
    return [(src, target, line) for src, found in imports.items() for target, line, _ in found
            if floor_of(target) > floor_of(src) and (src, target) not in ALLOWED]


def cycles(imports):
    """Strongly connected groups of two or more modules (Tarjan's algorithm), allowed imports
    left out."""
    graph = {m: sorted({t for t, _, _ in found if t in imports and (m, t) not in ALLOWED})
             for m, found in imports.items()}
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph[node]:
            if succ not in index:
                connect(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            connect(node)
    return groups


def function_local_imports(imports):
    return [(src, target, line) for src, found in imports.items() for target, line, local in found
            if local]


def test_every_module_has_a_floor():
    for module in all_modules():
        assert floor_of(module) in range(len(FLOOR_NAMES)), module


def test_no_import_points_upward():
    bad = upward_imports(collect_imports())
    assert not bad, "imports from a higher floor (see DESIGN.md):\n" + "\n".join(
        f"  {src}:{line} -> {target}" for src, target, line in bad)


def test_no_import_cycles():
    groups = cycles(collect_imports())
    assert not groups, "modules importing one another in a circle:\n" + "\n".join(
        "  " + ", ".join(g) for g in groups)


def test_allow_list_is_still_needed():
    imports = collect_imports()
    used = {(src, t) for src, found in imports.items() for t, _, _ in found}
    assert set(ALLOWED) <= used, set(ALLOWED) - used


def test_public_import_paths_still_work():
    """Paths Keras 2 code imports keep working after the move to floors."""
    import importlib
    from minikeras.core.tensor import Tensor
    from minikeras.engine.base_layer import Layer
    from minikeras.models.functional import Functional
    from minikeras.models.sequential import Sequential
    from minikeras.models.training import Model
    expected = {
        "minikeras.engine.base_layer": {"Layer": Layer},
        "minikeras.engine.input_spec": {"InputSpec": importlib.import_module(
            "minikeras.layers").InputSpec},
        "minikeras.engine.training": {"Model": Model},
        "minikeras.engine.functional": {"Functional": Functional},
        "minikeras.engine.sequential": {"Sequential": Sequential},
        "minikeras.models": {"Model": Model, "Sequential": Sequential},
        "minikeras.backend": {"Tensor": Tensor},
        "minikeras.backend.tensor": {"Tensor": Tensor},
        "minikeras.utils.data_utils": {"Sequence": importlib.import_module(
            "minikeras.utils").Sequence},
    }
    for path, names in expected.items():
        module = importlib.import_module(path)
        for name, obj in names.items():
            assert getattr(module, name) is obj, (path, name)
    for name in ("clear_session", "l2_normalize", "batch_dot", "learning_phase", "get_uid"):
        assert callable(getattr(importlib.import_module("minikeras.backend"), name)), name


if __name__ == "__main__":
    found = collect_imports()
    for title, rows in [("upward imports", upward_imports(found)),
                        ("function-local internal imports", function_local_imports(found))]:
        print(f"{title}: {len(rows)}")
        for src, target, line in rows:
            print(f"  {src}:{line} -> {target}")
    groups = cycles(found)
    print(f"cycles: {len(groups)}")
    for group in groups:
        print("  " + ", ".join(group))
