"""A sweep's trials on a Dask distributed cluster: connecting to a scheduler (or starting a ``LocalCluster`` on
this machine) and getting the data set to the workers.

Dask is optional (``pip install "gdstudio[dask]"``); importing this module does not import it. The workers
import ``gdstudio`` themselves, so each machine of a cluster needs it installed (the same version).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from pathlib import Path

from gdstudio import config as cfg
from gdstudio.config import ConfigError

LOCAL = "local"
"""The address that starts a ``distributed.LocalCluster`` of worker processes on this machine."""
DASK_MISSING = 'Dask is not installed here: pip install "gdstudio[dask]"'
FINGERPRINT_FILES = 10_000
"""A folder compared between this machine and the workers by at most this many files' names and sizes."""


class Cluster:
    """A Dask client for a sweep's trials; a context manager that closes what it opened.

    Parameters
    ----------
    address : str
        A scheduler's address (``tcp://host:8786``), or ``"local"`` to start a ``LocalCluster`` of worker
        processes on this machine, closed with the client.
    workers : int, optional
        For ``"local"``: how many worker processes (one thread each; default: one per core).
    timeout : float, optional
        Seconds to wait for the scheduler (default ``config.SCHEDULER_CONNECT_SECONDS``).

    Raises
    ------
    ConfigError
        On entering, when Dask is not installed or the scheduler cannot be reached (one line each).
    """

    def __init__(self, address: str, workers: int | None = None, timeout: float | None = None) -> None:
        self.address = address.strip()
        self.workers = workers
        self.timeout = cfg.SCHEDULER_CONNECT_SECONDS if timeout is None else timeout
        self.client = None
        self.local = None

    def __enter__(self) -> "Cluster":
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open(self) -> None:
        try:
            import distributed
        except ImportError:
            raise ConfigError(DASK_MISSING) from None
        address = self.address
        if address != LOCAL:
            _check_address(address)  # before a Client exists: a half-made one hangs for seconds when collected
        try:
            if address == LOCAL:
                with interrupts_ignored():  # the workers inherit it: Ctrl-C reaches this process, which closes them
                    self.local = distributed.LocalCluster(n_workers=self.workers or os.cpu_count() or 1,
                                                          threads_per_worker=1, processes=True,
                                                          dashboard_address=None,  # no dashboard, and its
                                                          # HTTP server on a free port, not on a busy 8787
                                                          scheduler_kwargs={"dashboard_address": ":0"},
                                                          silence_logs=logging.CRITICAL)  # trials report their own
                address = self.local.scheduler_address
            self.client = distributed.Client(address, timeout=self.timeout, set_as_default=False)
        except (OSError, ValueError, TypeError) as exc:  # a refused or silent address, or one Dask can't parse
            self.close()
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ConfigError(f"cannot reach a Dask scheduler at {self.address} ({reason})") from None

    def close(self) -> None:
        client, local, self.client, self.local = self.client, self.local, None, None
        if client is not None:
            client.close()
        if local is not None:
            local.close()

    @property
    def executor(self):
        """A ``concurrent.futures.Executor`` running each submitted trial as its own Dask task."""
        return self.client.get_executor(pure=False)

    def describe(self) -> str:
        """What runs the trials, for a person: ``a LocalCluster of 2 worker processes``."""
        workers = self.client.nthreads()  # {worker address: threads}, every worker
        threads = sum(workers.values())
        if self.local is not None:
            return f"a LocalCluster of {len(workers)} worker processes"
        return f"the Dask cluster at {self.address} ({len(workers)} workers, {threads} threads)"

    def place(self, name: str, path, dataset) -> tuple[object, str]:
        """What each trial receives to find the data set, and how it got there, in words.

        A built-in data set loads by its name on each worker. One on disk is read from the same path when every
        worker sees the same files there (names and sizes); otherwise ``dataset`` (loaded here when ``None``) is
        sent to the workers once, not once per trial: the trials receive Dask's handle to that copy. Refused
        (``ConfigError``) while the cluster has no workers: the trials would wait for ever.
        """
        from gdstudio.data.registry import DATASETS, dataset_status, load_dataset

        if not self.client.nthreads():  # the trials would wait for ever, and nobody could be asked about a path
            raise ConfigError(f"the Dask scheduler at {self.address} has no workers yet; start them with "
                              f"`dask worker {self.address}`")
        spec = DATASETS.get(name)
        if spec is not None and spec.builtin and path is None:
            return None, f"the workers load {name} by name (built in)"
        local = path
        if local is None and spec is not None:
            local = next((row["where"] for row in dataset_status() if row["name"] == name and row["present"]), None)
        if local is not None:
            local = str(Path(local).expanduser().resolve())
            mine = path_fingerprint(local)
            theirs = self.client.run(path_fingerprint, local)
            if mine is not None and all(fingerprint == mine for fingerprint in theirs.values()):
                return local, f"the workers read {local}"
        if dataset is None:
            dataset = load_dataset(name, path)
        handle = self.client.scatter(dataset, broadcast=True, hash=False)
        size = sum(getattr(dataset, part).nbytes for part in ("X_train", "y_train", "X_val", "y_val", "X_test",
                                                               "y_test"))
        return handle, f"the arrays of {name} ({size / 1e6:.1f} MB) were sent to the workers once"


@contextlib.contextmanager
def interrupts_ignored():
    """SIGINT ignored while the block starts processes, which keep ignoring it (from the main thread only).

    A Ctrl-C at a terminal goes to every process of the foreground group: the worker processes would each die
    with a traceback of their own, while this process cancels the trials and closes them anyway.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def _check_address(address: str) -> None:
    from distributed.comm import registry
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme not in registry.backends:
            raise ValueError(f"unknown scheme {scheme!r}")
        if scheme != "inproc":
            parse_host_port(location)
    except ValueError as exc:
        raise ConfigError(f"not a Dask scheduler address: {address!r} ({exc}); give one such as tcp://host:8786, "
                          f"or {LOCAL}") from None


def path_fingerprint(path) -> tuple | None:
    """The files at ``path`` as ``(relative name, size)`` pairs, or ``None`` when it cannot be read here.

    Run on each worker: the same fingerprint there as here means the worker can read the same data at the path.
    """
    location = Path(path)
    try:
        if not os.access(location, os.R_OK):
            return None
        if location.is_file():
            return (("", location.stat().st_size),)
        entries = []
        for folder, _, names in os.walk(location):
            for file_name in names:
                file_path = Path(folder, file_name)
                entries.append((str(file_path.relative_to(location)), file_path.stat().st_size))
                if len(entries) >= FINGERPRINT_FILES:
                    return tuple(sorted(entries))
        return tuple(sorted(entries))
    except OSError:
        return None
