"""conv_kernels.plan from two threads at once (predict's two batches in flight): one thread
times a key, the other waits for its choice, so both threads' batches take one route."""
import threading
import time

from minikeras.ops import conv_kernels as K


def test_two_threads_planning_one_key_time_it_once(monkeypatch):
    monkeypatch.setattr(K, "_PLANS", {})
    runs = []

    def candidate(name):
        def run():
            runs.append((name, threading.get_ident()))
            time.sleep(0.01)
        return run
    choices = []
    start = threading.Barrier(2)

    def make_plan():
        start.wait()
        choices.append(K.plan(("test", 1), {"a": candidate("a"), "b": candidate("b")}))
    threads = [threading.Thread(target=make_plan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runs) == 6                        # 3 repeats x 2 candidates, by one thread
    assert len({ident for _, ident in runs}) == 1
    assert len(choices) == 2 and choices[0] == choices[1] == K._PLANS[("test", 1)]
    assert not K._PLANS_BEING_MADE


def test_a_failed_timing_lets_the_next_caller_time_the_key(monkeypatch):
    monkeypatch.setattr(K, "_PLANS", {})

    def broken():
        raise RuntimeError("route failed")
    try:
        K.plan(("test", 2), {"a": broken})
    except RuntimeError:
        pass
    assert not K._PLANS_BEING_MADE
    assert K.plan(("test", 2), {"a": lambda: None, "b": lambda: None}) in ("a", "b")
