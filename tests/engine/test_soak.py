"""A headless soak: a million steps keep memory flat (the history decimates). Marked slow; .ci/run runs it."""

import numpy as np
import pytest

from gdstudio.config import HISTORY_LIMIT, TrainConfig
from gdstudio.engine.session import Session


def resident_kib() -> int:
    """Current resident set size of this process in KiB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@pytest.mark.slow
def test_a_million_steps_keep_memory_flat(capsys):
    total = 1_000_000
    session = Session(TrainConfig(dataset="digits", batch_size=32, steps=total, seed=0))
    marks = {total // 10: None, total // 2: None}
    rss = {}
    last = None
    for last in session.run():
        for mark in marks:
            if mark not in rss and last.step >= mark:
                rss[mark] = resident_kib()
    rss[total] = resident_kib()
    assert last.status == "ok" and session.step == total
    assert len(session.history.steps) <= HISTORY_LIMIT
    steps = session.history.steps.column("step")
    assert np.all(np.diff(steps) == session.history.steps.stride)  # evenly spaced after decimation
    assert np.all(np.isfinite(session.history.steps.column("loss")))
    with capsys.disabled():
        print("\nsoak RSS (MiB) at 10 % / 50 % / 100 %: "
              + " / ".join(f"{rss[m] / 1024:.1f}" for m in sorted(rss)))
    if rss[total]:
        assert rss[total] - rss[total // 10] < 32 * 1024  # flat: no growth with the step count
