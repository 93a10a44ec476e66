"""Issue 13 item 5: the window opens the real Fashion-MNIST (Debian's system copy, no folder to locate) and trains
it. Skipped, naming the apt command, where the package is not installed."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QComboBox, QLabel, QPushButton

from .conftest import open_window
from .person import WAIT_MS, click, curve_data, find, named_curve, pick, visible_text

LOAD_TIMEOUT_MS = 60_000
RUN_TIMEOUT_MS = 180_000
TITLE = "Fashion-MNIST clothing, 28×28"


def test_the_window_opens_the_system_copy_and_trains_it(qtbot, system_fashion):
    window = open_window(qtbot)
    combo = find(window, QComboBox, "datasetCombo")
    assert combo.findText(TITLE) >= 0  # listed as present: no "(not on this computer)" suffix
    pick(qtbot, combo, TITLE)
    state = find(window, QLabel, "stateLabel")
    qtbot.waitUntil(lambda: window.controller.info is not None and window.controller.info.dataset == "fashion-mnist"
                    and visible_text(state) == "Ready", timeout=LOAD_TIMEOUT_MS)
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: visible_text(state) == "Finished", timeout=RUN_TIMEOUT_MS)
    _, validation = curve_data(named_curve(window.view.accuracy_plot, "validation (subset)"))
    assert len(validation) >= 10 and validation[-1] > 0.8
    final = visible_text(find(window, QLabel, "finalLabel"))
    test_accuracy = float(re.search(r"test ([\d.]+) %", final)[1])
    assert test_accuracy >= 84.0, final
    window.close()
    qtbot.waitUntil(lambda: not window.controller.thread_running, timeout=WAIT_MS)
