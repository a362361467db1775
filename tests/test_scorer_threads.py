"""Pooled scorer threads (moderation/scoring/threads.py): the timeout still holds, a hung thread never gets new work,
and callers racing from many threads each get their own answer."""
from __future__ import annotations

import os
import threading
import time

import pytest

from moderation.scoring import LABELS, run_scorers, threads
from moderation.rules import CommentContext


def _run_together(target, n: int) -> None:  # noqa: ANN001
    """target(0) .. target(n - 1), each on its own thread, all started before any is joined."""
    workers = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)


def test_threads_are_reused_and_a_timed_out_thread_is_never_handed_work_again():
    threads.call(lambda: 1, 5)
    seen: list[threading.Thread] = []

    def who() -> threading.Thread:
        return threading.current_thread()
    seen += [threads.call(who, 5) for _ in range(5)]
    assert len({t.ident for t in seen}) == 1, "idle threads are reused one after another"
    release, ran_on = threading.Event(), []

    def hang() -> threading.Thread:
        ran_on.append(threading.current_thread())
        release.wait(30)
        return threading.current_thread()
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="no answer within"):
        threads.call(hang, 0.2)
    assert time.monotonic() - started < 5
    hung = ran_on[0]
    assert hung is seen[0]  # the hanging job was given the idle thread
    later = [threads.call(who, 5) for _ in range(20)]
    assert hung not in later, "a thread still running an abandoned job was handed new work"
    release.set()
    hung.join(5)
    assert not hung.is_alive(), "the abandoned thread ends once its job returns"
    assert all(worker.thread is not hung for worker in threads._idle)


def test_a_scorer_error_reaches_the_caller_and_the_thread_serves_on():
    def boom() -> None:
        raise RuntimeError("model server unreachable")
    with pytest.raises(RuntimeError, match="unreachable"):
        threads.call(boom, 5)
    assert threads.call(lambda: "still serving", 5) == "still serving"


def test_callers_racing_from_many_threads_each_get_their_own_answer():
    results: dict[int, object] = {}
    barrier = threading.Barrier(24)

    def request(n: int) -> None:
        barrier.wait()
        for i in range(50):
            # A scorer that yields midway, so answers would cross if two callers shared a job or a thread.
            def job(n: int = n, i: int = i) -> tuple[int, int, int]:
                time.sleep(0.0005 if (n + i) % 3 == 0 else 0)
                return n, i, threading.get_ident()
            got = threads.call(job, 10)
            assert got[:2] == (n, i), (got, n, i)
        results[n] = got
    _run_together(request, 24)
    assert sorted(results) == list(range(24))
    assert threads.idle() <= threads.MAX_IDLE


def test_racing_callers_with_hanging_and_quick_jobs_never_share_a_hung_thread():
    """Half the callers' jobs hang past their timeout; the other half must always be answered in time, by a
    thread that is not running a hung job."""
    release = threading.Event()
    hung: set[int] = set()
    lock = threading.Lock()
    failures: list[str] = []

    def caller(n: int) -> None:
        for i in range(6):
            if (n + i) % 2:
                def hang() -> None:
                    with lock:
                        hung.add(threading.get_ident())
                    release.wait(30)
                try:
                    threads.call(hang, 0.05)
                    failures.append("a hanging job returned")
                except TimeoutError:
                    pass
            else:
                ident = threads.call(threading.get_ident, 5)
                with lock:
                    if ident in hung:
                        failures.append(f"quick job ran on hung thread {ident}")
    _run_together(caller, 8)
    release.set()
    assert not failures, failures[:5]


def test_a_forked_child_does_not_wait_on_its_parents_threads():
    threads.call(lambda: None, 5)
    assert threads.idle() >= 1
    pid = os.fork()
    if pid == 0:  # the child: its idle list must be empty and a call must be answered
        code = 0
        try:
            code = 0 if threads.idle() == 0 and threads.call(lambda: 7, 5) == 7 else 1
        except BaseException:  # noqa: BLE001
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


class Hang:
    name, version, labels = "hangs", "hangs-1", LABELS

    def __init__(self) -> None:
        self.release = threading.Event()

    def score(self, texts, languages=None):  # noqa: ANN001, ANN201
        self.release.wait(30)
        return [dict.fromkeys(LABELS, 0.0) for _ in texts]


class Echo:
    """Scores each text by its length, so each request's scores are its own."""

    name, version, labels = "echo", "echo-1", LABELS

    def score(self, texts, languages=None):  # noqa: ANN001, ANN201
        time.sleep(0.001)
        return [{"toxicity": len(t) / 1000} for t in texts]


def test_run_scorers_times_out_a_hanging_scorer_and_keeps_the_others():
    hang = Hang()
    contexts = [CommentContext(text="hallo")]
    runs = run_scorers([hang, Echo()], contexts, timeout=0.2)
    hang.release.set()
    assert runs[0].scores is None and "no answer within" in runs[0].error
    assert runs[1].scores == [{"toxicity": 0.005}]


def test_run_scorers_from_racing_request_threads_give_each_its_own_scores():
    failures: list[str] = []

    def request(n: int) -> None:
        for i in range(20):
            text = "x" * (n * 20 + i + 1)
            runs = run_scorers([Echo()], [CommentContext(text=text)], timeout=10)
            if runs[0].scores != [{"toxicity": len(text) / 1000}]:
                failures.append(f"{n}/{i}: {runs[0]}")
    _run_together(request, 16)
    assert not failures, failures[:5]
