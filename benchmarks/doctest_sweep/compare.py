import json, re, sys, collections
import os
import numpy as np
OUT = os.environ.get("DOCTEST_SWEEP_OUT", "/tmp/doctest_sweep")
peer = json.load(open(sys.argv[1] if len(sys.argv) > 1 else os.path.join(OUT, "results_peer.json")))
mk = json.load(open(sys.argv[2] if len(sys.argv) > 2 else os.path.join(OUT, "results_mk.json")))
docs = {f"{d['name']}@{d['lineno']}": d for d in json.load(open(os.path.join(OUT, "examples.json")))}
NUM = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?")

def close(a, b):
    a = np.asarray(a, float); b = np.asarray(b, float)
    if a.shape != b.shape: return False
    return np.allclose(a, b, rtol=2e-5, atol=2e-6 * max(1.0, np.nanmax(np.abs(a)) if a.size and np.isfinite(a).any() else 1.0), equal_nan=True)

def same_value(p, m):
    if p["k"] == "dtype" and m["k"] in ("str", "dtype"): return p["v"] == m["v"], "dtype"
    if p["k"] != m["k"]:
        if p["k"] == "num" and m["k"] == "array" and m["shape"] == []:
            return close(p["v"], m["v"]), "num vs 0-d array"
        if p["k"] == "array" and m["k"] == "num" and p["shape"] == []:
            return close(p["v"], m["v"]), "0-d array vs num"
        if p["k"] == "shape" and m["k"] == "seq":
            return [x.get("v") for x in m["items"]] == p["v"], "shape vs seq"
        return False, f"kind {p['k']} vs {m['k']}"
    k = p["k"]
    if k == "array":
        if p["dtype"] != m["dtype"]: return False, f"dtype {p['dtype']} vs {m['dtype']}"
        if p["shape"] != m["shape"]: return False, f"shape {p['shape']} vs {m['shape']}"
        if p.get("v") is None or m.get("v") is None: return True, ""
        if p["dtype"] in ("string", "object") or isinstance((p["v"] or [0])[0], str):
            return p["v"] == m["v"], "strings"
        return close(p["v"], m["v"]), "values"
    if k == "num": return close(p["v"], m["v"]), "num"
    if k in ("str", "bool", "shape", "dtype"): return p["v"] == m["v"], k
    if k == "none": return True, ""
    if k == "seq":
        if len(p["items"]) != len(m["items"]): return False, "seq len"
        for a, b in zip(p["items"], m["items"]):
            ok, why = same_value(a, b)
            if not ok: return False, "seq item: " + why
        return True, ""
    if k == "dict":
        if list(p["items"]) != list(m["items"]):
            if sorted(p["items"]) == sorted(m["items"]): return False, "dict key order"
            return False, f"dict keys {sorted(set(p['items']) ^ set(m['items']))}"
        for key in p["items"]:
            ok, why = same_value(p["items"][key], m["items"][key])
            if not ok: return False, f"dict[{key}]: " + why
        return True, ""
    if k == "obj":
        return p["type"] == m["type"] or True, "obj"
    return False, "?"

TIMING = re.compile(r"\d+m?u?s/step|ETA: \S+|\d+s \d+m?u?s/step|tf\.")
def same_out(p, m):
    p = TIMING.sub("", p); m = TIMING.sub("", m)
    pn = NUM.findall(p); mn = NUM.findall(m)
    if len(pn) != len(mn): return False
    return close([float(x) for x in pn], [float(x) for x in mn]) if pn else True

def compare_example(p, m):
    pe, me = p.get("error"), m.get("error")
    if pe and me:
        return ("both-error", "") if pe["type"] == me["type"] else ("error-type", f"{pe['type']} vs {me['type']}: {me['msg'][:150]}")
    if me:
        if me["msg"].startswith("out of scope"): return "out-of-scope", me["msg"]
        return "mk-error", f"{me['type']}: {me['msg'][:300]}"
    if pe: return "peer-error-only", f"{pe['type']}: {pe['msg'][:200]}"
    if "value" in p or "value" in m:
        if "value" not in m and "UnreadVariable" in p["out"]: return "update-op-return", ""
        if "value" not in p or "value" not in m: return "value-missing", ""
        ok, why = same_value(p["value"], m["value"])
        return ("equal", "") if ok else ("value-differs", why)
    if not same_out(p["out"], m["out"]): return "print-differs", ""
    return "equal", ""

stats = collections.Counter(); first = collections.Counter()
report = []
for key, doc in docs.items():
    if key not in peer or key not in mk: continue
    diverged = False
    for i, (ex, p, m) in enumerate(zip(doc["examples"], peer[key], mk[key])):
        status, why = compare_example(p, m)
        if status == "update-op-return":
            stats[status] += 1; continue
        if diverged and status not in ("equal", "both-error"):
            stats["after-divergence"] += 1; continue
        stats[status] += 1
        if status not in ("equal", "both-error"):
            if not diverged: first[status] += 1
            diverged = True
            report.append((key, i, status, why, ex["source"].strip()[:300],
                           (p.get("out") or str(p.get("error")))[:300], (m.get("out") or str(m.get("error")))[:300]))
print(stats, sum(stats.values())); print("first divergences:", first)
with open(os.path.join(OUT, "report.txt"), "w") as f:
    for r in report:
        f.write(f"=== {r[0]} ex{r[1]} [{r[2]}] {r[3]}\n>>> {r[4]}\n-- peer: {r[5]}\n-- mk:   {r[6]}\n")
