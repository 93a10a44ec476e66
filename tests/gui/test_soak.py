"""The GUI soak of issue 7: training while α, λ, batch size and loss change at random every 50 ms.

Five minutes by default (``GDSTUDIO_GUI_SOAK_S`` shortens it); marked slow, and .ci/run runs it.
"""

from __future__ import annotations

import os
import random
import time

import numpy as np
import pytest
from PySide6.QtCore import QElapsedTimer, Qt, QTimer

from gdstudio.gui.controller import RUNNING_STATE

SOAK_S = float(os.environ.get("GDSTUDIO_GUI_SOAK_S", "300"))
MIN_CHANGES = min(1000, int(SOAK_S / 0.05 * 0.5))
"""The soak goes on past ``SOAK_S`` until this many live changes were made (a busy machine serves the 50 ms timer
less often: with both cores taken by other programs, 1,010 in 300 s instead of 6,000)."""
GRACE_MS = 300_000
"""How much longer than ``SOAK_S`` it may take, to stop a hang (the suite's limit is 900 s a test)."""


@pytest.mark.slow
def test_random_live_changes_for_minutes(qtbot, window):
    rng = random.Random(7)
    window.controller.set_epochs(1e12)  # a digits epoch is ~0.3 ms: 1e6 epochs ended a 5-minute soak early
    window.toggle_training()
    qtbot.waitUntil(lambda: window.controller.state == RUNNING_STATE, timeout=20_000)

    changes = []

    def change():
        name = rng.choice(["lr", "reg", "batch_size", "loss"])
        value = {"lr": lambda: 10 ** rng.uniform(-3, 0), "reg": lambda: 10 ** rng.uniform(-6, -2),
                 "batch_size": lambda: rng.choice([1, 8, 32, 64, 128, 256]),
                 "loss": lambda: rng.choice(["svm", "softmax"])}[name]()
        window.controller.request(**{name: value})
        changes.append(name)

    ticks = []
    clock = QElapsedTimer()
    clock.start()
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(10)
    probe.timeout.connect(lambda: ticks.append(clock.nsecsElapsed() / 1e9))
    mover = QTimer()
    mover.setInterval(50)
    mover.timeout.connect(change)
    probe.start()
    mover.start()
    deadline = time.monotonic() + SOAK_S

    def soaked():
        return window.last_error is not None or (time.monotonic() > deadline and len(changes) >= MIN_CHANGES
                                                 and len(window.curves.steps.column("step")) > 1000)

    qtbot.waitUntil(soaked, timeout=int(SOAK_S * 1000) + GRACE_MS)
    mover.stop()
    probe.stop()
    assert window.last_error is None, window.last_error
    assert window.controller.state == RUNNING_STATE  # nothing diverged or stopped it
    window.toggle_training()
    qtbot.waitUntil(lambda: window.controller.state != RUNNING_STATE, timeout=20_000)

    steps = window.curves.steps.column("step")
    assert len(steps) > 1000 and np.all(np.diff(steps) == window.curves.steps.stride)  # no point lost or doubled
    assert np.all(np.isfinite(window.curves.steps.column("loss")))
    assert len(changes) >= MIN_CHANGES
    assert len(window.curves.changes) >= 1  # changes are marked on the plots
    gaps = np.diff(np.array(ticks))
    lateness_ms = np.maximum(gaps - 0.010, 0) * 1000
    print(f"\nGUI soak {SOAK_S:.0f} s: {len(changes):,} live changes, {steps[-1]:,} steps, "
          f"{len(window.curves.changes):,} marked; timer lateness p99 {np.percentile(lateness_ms, 99):.1f} ms, "
          f"worst {lateness_ms.max():.1f} ms")
    # How late the event loop was is printed, not asserted: it measures the machine as much as the code (with both
    # cores taken by other programs it is seconds). A frozen loop never gets here (waitUntil runs in it), and the
    # lateness goals are the benchmark's (tests/bench/gui_throughput.py).
