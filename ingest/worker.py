"""PDF text extraction in a separate process, with a time budget and a memory cap.

A hostile or broken PDF can make pypdf run for minutes or claim gigabytes. Reading it in a
worker process lets the caller give up after a time budget (the worker is killed) and caps
the worker's address space, so one bad file costs a bounded time and memory and the rest of
a batch goes on. The worker is a fresh interpreter (`python -m ingest.worker`): unlike
multiprocessing's spawn it never re-runs the caller's main script, and unlike fork it is
safe next to threads, torch and FAISS. Workers are reused: a batch of PDFs pays the
start-up of one worker (about 0.3 s), not one per file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from ingest.errors import IngestError
from ingest.ocr import OcrConfig
from ingest.pdf import PdfContent, read_pdf

# Idle workers kept for the next file; more are started when threads read PDFs at once.
_MAX_IDLE = 2
_ROOT = Path(__file__).resolve().parent.parent


def _serve(conn: Connection, memory_mb: int) -> None:
    """The worker's loop: read one PDF per request until told to stop."""
    if memory_mb > 0:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        path, password, max_pages, ocr, tables = request
        try:
            content = read_pdf(Path(path), password=password, max_pages=max_pages, ocr=ocr,
                               tables=tables)  # fmt: skip
            reply = ("ok", content)
        except IngestError as e:
            reply = ("error", str(e))
        except MemoryError:
            reply = ("memory", "")
        except Exception as e:  # noqa: BLE001 - any failure is this file's, reported in one line
            reply = ("error", f"unreadable PDF ({type(e).__name__}: {str(e)[:160]})")
        try:
            conn.send(reply)
        except MemoryError:
            return  # the parent sees the connection close and reports the memory cap
        if reply[0] == "memory":
            return  # a worker that ran out of memory is not trusted with the next file


def _exit_with_parent(parent: int) -> None:
    """End this worker when the process that started it is gone (even mid-extraction)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def _main() -> None:
    fd, memory_mb, parent = (int(a) for a in sys.argv[1:4])
    os.dup2(2, 1)  # stray prints from libraries go to stderr, never into the replies
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _serve(Connection(fd), memory_mb)


class _Worker:
    def __init__(self, memory_mb: int):
        self.memory_mb = memory_mb
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ingest.worker", str(theirs.fileno()), str(memory_mb),
             str(os.getpid())],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        theirs.close()
        self.conn = Connection(ours.detach())

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        try:
            self.conn.send(None)
            self.process.wait(2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.conn.close()


_idle: list[_Worker] = []
_idle_lock = threading.Lock()


def _take(memory_mb: int) -> _Worker:
    with _idle_lock:
        while _idle:
            w = _idle.pop()
            if w.alive() and w.memory_mb == memory_mb:
                return w
            w.kill()
    return _Worker(memory_mb)


def _give_back(worker: _Worker) -> None:
    with _idle_lock:
        if len(_idle) < _MAX_IDLE and worker.alive():
            _idle.append(worker)
            return
    worker.stop()


def shutdown() -> None:
    """Stop the idle workers (they also end by themselves when their parent ends)."""
    with _idle_lock:
        workers, _idle[:] = list(_idle), []
    for w in workers:
        w.stop()


def read_pdf_isolated(
    path: Path,
    *,
    password: str | None = None,
    max_pages: int = 3000,
    timeout: float = 120.0,
    memory_mb: int = 2048,
    ocr: OcrConfig | None = None,
    tables: bool = True,
) -> PdfContent:
    """`read_pdf` in a worker process: at most `timeout` seconds and `memory_mb` of memory.

    OCR (tesseract, a child of the worker) runs within the same time budget and memory cap.

    Raises:
        IngestError: whatever `read_pdf` raises, or the time budget or memory cap exceeded.
    """
    worker = _take(memory_mb)
    done = False
    try:
        worker.conn.send((str(Path(path).resolve()), password, max_pages, ocr, tables))
        if not worker.conn.poll(timeout):
            raise IngestError(f"text extraction took longer than {timeout:g} s (KB_PDF_TIMEOUT)")
        status, value = worker.conn.recv()
        done = status != "memory"
    except (EOFError, OSError) as e:
        try:
            worker.process.wait(2)  # its exit code says more than the closed connection
        except subprocess.TimeoutExpired:
            pass
        worker.kill()
        raise IngestError(
            f"text extraction stopped (worker exit code {worker.process.returncode}): it needed "
            f"more than {memory_mb} MB (KB_PDF_MEMORY_MB) or crashed"
        ) from e
    finally:
        if not done:
            worker.kill()  # timed out, interrupted or out of memory: never reused
    if status == "memory":
        raise IngestError(f"text extraction needed more than {memory_mb} MB (KB_PDF_MEMORY_MB)")
    _give_back(worker)
    if status == "error":
        raise IngestError(value)
    return value


if __name__ == "__main__":
    _main()
