"""Run every collected docstring example on one side; record outputs, values and errors.
usage: run_examples.py peer|mk [name-filter]"""
import contextlib, io, json, os, signal, sys, tempfile, warnings
import numpy as np
warnings.filterwarnings("ignore")
SIDE = sys.argv[1]
OUT = os.environ.get("DOCTEST_SWEEP_OUT", "/tmp/doctest_sweep")
os.makedirs(OUT, exist_ok=True)
FILTER = sys.argv[2] if len(sys.argv) > 2 else ""
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
if SIDE == "peer":
    from peer_tf import tf
    import tf_keras as keras
    def reset():
        keras.backend.clear_session(); tf.random.set_seed(0)
else:
    import fake_tf as tf
    import minikeras as keras
    sys.modules["tensorflow"] = tf          # `import tensorflow as tf` inside an example
    sys.modules["tf_keras"] = keras
    sys.modules["tf_keras.src"] = keras
    keras.src = keras
    def reset():
        keras.backend.clear_session(); keras.utils.set_random_seed(0)

def dtype_name(d):
    return getattr(d, "name", None) or str(np.dtype(d))

def norm(v, depth=0):
    if v is None: return {"k": "none"}
    if isinstance(v, (bool, np.bool_)): return {"k": "bool", "v": bool(v)}
    if isinstance(v, str): return {"k": "str", "v": v}
    if isinstance(v, bytes): return {"k": "str", "v": v.decode("latin1")}
    if isinstance(v, (int, float, np.number)):
        return {"k": "num", "v": float(v), "t": type(v).__name__}
    if isinstance(v, (list, tuple)) and depth < 4:
        return {"k": "seq", "t": type(v).__name__, "items": [norm(x, depth + 1) for x in v[:200]]}
    if isinstance(v, dict) and depth < 4:
        return {"k": "dict", "items": {str(k): norm(x, depth + 1) for k, x in list(v.items())[:200]}}
    if hasattr(v, "as_list") and type(v).__name__ == "TensorShape":
        try: return {"k": "shape", "v": v.as_list()}
        except ValueError: return {"k": "shape", "v": None}
    if type(v).__name__ == "DType": return {"k": "dtype", "v": v.name}
    if isinstance(v, np.dtype): return {"k": "dtype", "v": v.name}
    arr = None
    if isinstance(v, np.ndarray): arr = v
    elif hasattr(v, "numpy") and callable(v.numpy):
        try: arr = np.asarray(v.numpy())
        except Exception: arr = None
    if arr is not None:
        d = {"k": "array", "dtype": arr.dtype.name, "shape": list(arr.shape),
             "t": type(v).__name__}
        if arr.dtype.kind in "SUO":
            d["v"] = [x.decode("latin1") if isinstance(x, bytes) else str(x) for x in arr.ravel()[:2000]]
        elif arr.size <= 20000:
            d["v"] = arr.astype("float64").ravel().tolist() if arr.dtype.kind != "c" else None
        return d
    shape = getattr(v, "shape", None)
    return {"k": "obj", "type": type(v).__name__, "repr": repr(v)[:300],
            "shape": str(tuple(shape)) if shape is not None else None}

class Timeout(Exception): pass
def on_alarm(*_): raise Timeout("example took over 60 s")
signal.signal(signal.SIGALRM, on_alarm)

def run_docstring(doc):
    reset()
    np.random.seed(0)
    ns = {"tf": tf, "np": np, "keras": keras, "__name__": "__doctest__"}
    records = []
    for ex in doc["examples"]:
        rec = {}
        captured = []
        def hook(value):
            if value is not None:
                captured.append(value)
                print(repr(value))
        out = io.StringIO()
        old_hook = sys.displayhook
        sys.displayhook = hook
        signal.alarm(60)
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(ex["source"], "<doctest>", "single"), ns)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt): raise
            rec["error"] = {"type": type(e).__name__, "msg": str(e)[:1000]}
        finally:
            signal.alarm(0)
            sys.displayhook = old_hook
        rec["out"] = out.getvalue()[-4000:]
        if captured:
            try: rec["value"] = norm(captured[-1])
            except Exception as e: rec["value"] = {"k": "unnormalisable", "err": repr(e)}
        records.append(rec)
    return records

docs = json.load(open(os.path.join(OUT, "examples.json")))
results = {}
workdir = tempfile.mkdtemp(prefix=f"doctest_{SIDE}_")
os.chdir(workdir)
for i, doc in enumerate(docs):
    key = f"{doc['name']}@{doc['lineno']}"
    if FILTER and FILTER not in key: continue
    try:
        results[key] = run_docstring(doc)
    except Exception as e:
        results[key] = [{"error": {"type": "RunnerCrash", "msg": repr(e)}}]
    print(i, key, file=sys.stderr, flush=True)
name = f"results_{SIDE}.json" if not FILTER else f"results_{SIDE}_partial.json"
json.dump(results, open(os.path.join(OUT, name), "w"), default=str)
