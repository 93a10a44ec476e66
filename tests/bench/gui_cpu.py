"""What the window costs the computer when nothing happens, and while it trains slowly (issue 17 item 6).

A benchmark script, not a test: it prints figures. Run it under a real X server (a laptop's screen is one) or
offscreen:

    xvfb-run -a -s "-screen 0 1280x720x24" .venv/bin/python tests/bench/gui_cpu.py
    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/bench/gui_cpu.py --seconds 10

One window on the built-in digits, driven through its own controls; each phase runs the event loop for
``--seconds`` (default 60) and measures the process's CPU time over it (all its threads: the GUI's and the
training thread's), as a share of one core, and the GUI thread's share alone where the platform tells it
(psutil, else ``/proc/self/task``):

- ``just opened``: the window as it opens, the data set loaded, nobody touching it;
- ``training at 1 step/s`` and ``training at 10 steps/s``: the Speed box at 1 and at 10 steps a second, Start
  pressed (the curves and the view on top draw each step);
- ``paused``: the run above, paused;
- ``after a run``: a short run at full speed that has finished;
- ``minimised``: the finished window, minimised.

``--wakeups`` also counts the timer events the application gets and the paints of its widgets in each phase (an
event filter on the application, which costs a little CPU of its own, so it is off by default).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import threading
import time


def process_cpu() -> float:
    """CPU seconds of this process, all threads (user + system)."""
    times = os.times()
    return times.user + times.system


def thread_cpu(native_id: int) -> float | None:
    """CPU seconds of one thread of this process, or None where the platform does not say."""
    try:
        import psutil

        for thread in psutil.Process().threads():
            if thread.id == native_id:
                return thread.user_time + thread.system_time
        return None
    except ImportError:
        pass
    try:
        with open(f"/proc/self/task/{native_id}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase (default 60)")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds of event loop before each phase is measured (default 3)")
    parser.add_argument("--wakeups", action="store_true", help="count timer events and paints too")
    parser.add_argument("--phases", default="opened,pace1,pace10,paused,after,minimised",
                        help="comma-separated subset of: opened, pace1, pace10, paused, after, minimised")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from gdstudio.gui import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow()  # no QSettings: the defaults, not this machine's remembered layout
    window.show()
    gui_thread = threading.get_native_id()

    def run_loop(seconds: float, until=None) -> None:
        """Run the event loop as app.exec() would, for ``seconds`` or until ``until()`` holds."""
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        poll = None
        if until is not None:
            if until():
                return
            poll = QTimer()
            poll.setInterval(50)
            poll.timeout.connect(lambda: loop.quit() if until() else None)
            poll.start()
        loop.exec()
        if poll is not None:
            poll.stop()

    class Counter(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.events = collections.Counter()

        def eventFilter(self, watched, event) -> bool:  # Qt override
            kind = event.type()
            if kind == QEvent.Type.Timer:
                self.events["timer"] += 1
            elif kind == QEvent.Type.Paint:
                self.events["paint"] += 1
            return False

    def measure(name: str) -> dict:
        run_loop(args.settle)
        counter = Counter() if args.wakeups else None
        if counter is not None:
            app.installEventFilter(counter)
        steps = window.controller.steps_done
        wall, cpu, gui = time.perf_counter(), process_cpu(), thread_cpu(gui_thread)
        run_loop(args.seconds)
        wall, cpu = time.perf_counter() - wall, process_cpu() - cpu
        gui = None if gui is None else thread_cpu(gui_thread) - gui
        if counter is not None:
            app.removeEventFilter(counter)
        row = {"phase": name, "seconds": wall, "cpu": cpu / wall, "gui": None if gui is None else gui / wall,
               "steps": window.controller.steps_done - steps}
        if counter is not None:
            row.update(timers=counter.events["timer"] / wall, paints=counter.events["paint"] / wall)
        line = f"{name:<24} CPU {100 * row['cpu']:5.1f} % of a core"
        if row["gui"] is not None:
            line += f" (GUI thread {100 * row['gui']:5.1f} %)"
        line += f", {row['steps'] / wall:6.1f} steps/s"
        if counter is not None:
            line += f", {row['timers']:5.1f} timer events/s, {row['paints']:5.1f} paints/s"
        print(line, flush=True)
        return row

    def choose_pace(steps_per_second) -> None:
        combo = window.controls.pace_combo
        combo.setCurrentIndex(combo.findData(steps_per_second) if steps_per_second else 0)

    def ended() -> bool:
        return window.controller.state == "ended"

    run_loop(120, until=lambda: window.controller.ready)
    phases = args.phases.split(",")
    rows = []
    print(f"GD Studio window, {QApplication.platformName()} platform, {args.seconds:g} s per phase, "
          f"{os.cpu_count()} cores", flush=True)
    if "opened" in phases:
        rows.append(measure("just opened"))
    window.controls.epochs_spin.setValue(window.controls.epochs_spin.maximum())  # a run that lasts
    for pace, key in ((1.0, "pace1"), (10.0, "pace10")):
        if key in phases:
            choose_pace(pace)
            if not window.controller.running:
                window.toggle_training()
            rows.append(measure(f"training at {pace:g} step{'s' if pace != 1 else ''}/s"))
    if "paused" in phases:
        if window.controller.running:
            window.toggle_training()
        rows.append(measure("paused"))
    if "after" in phases or "minimised" in phases:
        if window.controller.running:
            window.toggle_training()
        choose_pace(None)
        window.reset_run()
        window.controls.epochs_spin.setValue(2)
        run_loop(30, until=lambda: window.controller.state == "ready")
        window.toggle_training()
        run_loop(300, until=ended)
        if "after" in phases:
            rows.append(measure("after a run"))
        if "minimised" in phases:
            window.showMinimized()
            rows.append(measure("minimised"))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
