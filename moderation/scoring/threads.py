"""Scorer threads: a job runs on an idle daemon thread of this process, and a thread whose job timed out is given up.

Starting a thread per scorer call cost the live API two thread starts per request; the scorer timeout still needs a
thread the caller can walk away from, so each thread serves one job at a time, goes back to the idle list only when
its caller got the answer in time, and ends itself when it finally returns from a job its caller gave up on.
"""
from __future__ import annotations

import os
import queue
import threading
from typing import Callable, TypeVar

T = TypeVar("T")
MAX_IDLE = 8  # idle threads kept per process; more concurrent calls start more, the surplus ends after its job


class _Job:
    __slots__ = ("run", "done", "finished", "abandoned", "value", "error")

    def __init__(self, run: Callable[[], object]) -> None:
        self.run, self.done = run, threading.Event()
        self.finished = self.abandoned = False
        self.value: object = None
        self.error: BaseException | None = None


class _Worker:
    """One daemon thread taking jobs from its own inbox; None in the inbox ends it."""

    def __init__(self) -> None:
        self.inbox: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, daemon=True, name="scorer")
        self.thread.start()

    def _serve(self) -> None:
        while (job := self.inbox.get()) is not None:
            try:
                value, error = job.run(), None
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                value, error = None, exc
            with _lock:
                job.value, job.error, job.finished = value, error, True
                given_up = job.abandoned
            job.done.set()
            if given_up:  # its caller has gone: this thread is in no idle list and must not wait for work
                return


_lock = threading.Lock()
_idle: list[_Worker] = []


def _forget_after_fork() -> None:
    """A forked child has none of its parent's threads: the idle list names threads that do not run there."""
    global _lock  # noqa: PLW0603 - a lock held by another thread at the fork would never be released here
    _lock = threading.Lock()
    _idle.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def call(run: Callable[[], T], seconds: float, name: str = "scorer") -> T:
    """run() on a scorer thread; TimeoutError when it has not returned within `seconds` (the thread is then
    abandoned: it finishes or hangs on its own and is never handed another job)."""
    with _lock:
        worker = _idle.pop() if _idle else None
    if worker is None or not worker.thread.is_alive():
        worker = _Worker()
    worker.thread.name = name
    job = _Job(run)
    worker.inbox.put(job)
    if not job.done.wait(seconds):
        with _lock:
            if not job.finished:
                job.abandoned = True
        if job.abandoned:
            raise TimeoutError(f"no answer within {seconds:.1f} s")
    with _lock:
        keep = len(_idle) < MAX_IDLE
        if keep:
            _idle.append(worker)
    if not keep:
        worker.inbox.put(None)
    if job.error is not None:
        raise job.error
    return job.value  # type: ignore[return-value]


def idle() -> int:
    """How many idle scorer threads this process keeps (for tests)."""
    with _lock:
        return len(_idle)
