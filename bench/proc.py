"""Running a measured child process: wall time, CPU, peak RSS, an RSS curve.

CPU time comes from ``wait4``, i.e. the kernel's rusage of that one child (the
per-child form of ``getrusage(RUSAGE_CHILDREN)``), so runs never mix. Peak RSS
is the child's ``VmHWM`` (``/proc/PID/status``), read every 0.2 s while it runs:
Linux carries a parent's RSS at ``fork`` into the child's ``ru_maxrss`` across
``exec``, so after a section that made the benchmark process itself big,
``ru_maxrss`` reports the parent's size, not maildesk's (both are kept; the
high-water mark is what the report shows). The RSS curve is sampled the same
way, together with how many mails the child has logged as done so far, so
memory can be plotted against work.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

try:  # optional: only for sampling RSS
    import psutil
except ImportError:  # pragma: no cover - depends on the machine
    psutil = None

#: The log line maildesk writes for every mail it took from IMAP (ingest/imap.py).
MAIL_DONE = b"maildesk.ingest.imap: mail "


@dataclass
class Sample:
    """One point of the RSS curve."""

    t: float  # seconds since start
    rss_mb: float
    mails: int  # mails logged as done so far


@dataclass
class ProcResult:
    """What a measured child did."""

    returncode: int
    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    maxrss_mb: float  # peak RSS: the highest VmHWM seen, else ru_maxrss
    ru_maxrss_mb: float  # from wait4; may include the parent's RSS at fork (see above)
    mails_logged: int
    samples: list[Sample] = field(default_factory=list)
    log_path: Path | None = None

    @property
    def cpu_s(self) -> float:
        return self.cpu_user_s + self.cpu_sys_s

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def memory_mb(pid: int) -> tuple[float, float] | None:
    """(RSS, peak RSS so far) of ``pid`` in MB, or None when it is gone."""
    rss = hwm = None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) / 1024
    except OSError:
        pass
    if rss is None and psutil is not None:  # no /proc: RSS only
        try:
            rss = float(psutil.Process(pid).memory_info().rss) / 2**20
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            return None
    if rss is None:
        return None
    return rss, hwm if hwm is not None else rss


class Child:
    """A child process whose stderr is logged to a file while mail lines are counted."""

    def __init__(
        self,
        cmd: Sequence[str],
        env: dict[str, str],
        log_path: Path,
        *,
        sample_every: float | None = None,
        on_line: Callable[[bytes], None] | None = None,
    ) -> None:
        self.log_path = log_path
        self.mails = 0
        self.samples: list[Sample] = []
        self.peak_mb = 0.0
        self._keep_curve = sample_every is not None
        self._on_line = on_line
        self._done = threading.Event()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            list(cmd), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        every = min(sample_every or 0.2, 0.2)
        self._sampler = threading.Thread(target=self._sample, args=(every,), daemon=True)
        self._sampler.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        with self.log_path.open("wb") as log:
            for line in self.proc.stderr:
                log.write(line)
                if MAIL_DONE in line:
                    self.mails += 1
                if self._on_line is not None:
                    self._on_line(line)

    def _sample(self, every: float) -> None:
        while not self._done.is_set():
            mem = memory_mb(self.proc.pid)
            if mem is not None:
                rss, hwm = mem
                self.peak_mb = max(self.peak_mb, hwm)
                if self._keep_curve:
                    self.samples.append(Sample(time.monotonic() - self.started, rss, self.mails))
            self._done.wait(every)

    def terminate(self) -> None:
        """Ask the child to stop (SIGTERM), as an operator would."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float | None = None) -> ProcResult:
        """Reap the child with ``wait4`` and return its figures."""
        if timeout is None:
            _, status, usage = os.wait4(self.proc.pid, 0)
        else:
            deadline = time.monotonic() + timeout
            while True:
                pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    self.proc.kill()
                    _, status, usage = os.wait4(self.proc.pid, 0)
                    break
                time.sleep(0.02)
        wall = time.monotonic() - self.started
        self._done.set()
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self._reader.join(10)
        self._sampler.join(5)
        ru_maxrss = usage.ru_maxrss / 1024
        return ProcResult(
            returncode=self.proc.returncode,
            wall_s=wall,
            cpu_user_s=usage.ru_utime,
            cpu_sys_s=usage.ru_stime,
            maxrss_mb=self.peak_mb or ru_maxrss,
            ru_maxrss_mb=ru_maxrss,
            mails_logged=self.mails,
            samples=self.samples,
            log_path=self.log_path,
        )


def run(
    cmd: Sequence[str],
    env: dict[str, str],
    log_path: Path,
    *,
    sample_every: float | None = None,
    timeout: float | None = None,
) -> ProcResult:
    """Run ``cmd`` to completion and measure it."""
    return Child(cmd, env, log_path, sample_every=sample_every).wait(timeout)
