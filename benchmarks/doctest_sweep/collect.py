"""List every >>> example in tf_keras/src docstrings (peer python)."""
import doctest, importlib, json, os, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")
import tf_keras
OUT = os.environ.get("DOCTEST_SWEEP_OUT", "/tmp/doctest_sweep")
os.makedirs(OUT, exist_ok=True)
SRC = os.path.dirname(tf_keras.__file__) + "/src"
SKIP = ("tests", "testing_infra", "benchmarks", "integration_test")
finder = doctest.DocTestFinder(exclude_empty=True)
out = []
failed = []
for root, dirs, files in os.walk(SRC):
    dirs[:] = sorted(d for d in dirs if d not in SKIP and not d.startswith("_"))
    for f in sorted(files):
        if not f.endswith(".py") or f.endswith("_test.py"):
            continue
        path = os.path.join(root, f)
        if ">>>" not in open(path).read():
            continue
        mod = "tf_keras.src." + os.path.relpath(path, SRC)[:-3].replace(os.sep, ".")
        if mod.endswith(".__init__"):
            mod = mod[: -len(".__init__")]
        try:
            m = importlib.import_module(mod)
        except Exception as e:
            failed.append((mod, repr(e)))
            continue
        seen = set()
        for t in finder.find(m, mod):
            key = (t.filename, t.lineno, t.docstring)
            if not t.examples or key in seen:
                continue
            seen.add(key)
            out.append(dict(name=t.name, module=mod, file=os.path.relpath(t.filename, SRC),
                            lineno=t.lineno,
                            examples=[dict(source=e.source, want=e.want, exc_msg=e.exc_msg,
                                           lineno=e.lineno) for e in t.examples]))
json.dump(out, open(os.path.join(OUT, "examples.json"), "w"), indent=0)
print(len(out), "docstrings", sum(len(d["examples"]) for d in out), "examples")
print("import failures", failed)
