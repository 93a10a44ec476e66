"""Screenshots of the lecture views after they have run (for the README's feature tour). Run under an X server:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tests/bench/gui_lecture_screens.py [docs]

Each view is shown on its own, fed a session trained on the embedded digits, run, and saved as
``docs/view-<objectName>.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

WIDTH, HEIGHT = 1200, 720
TIMEOUT_MS = 120_000


def wait_for(view, key: str) -> None:
    """Run the event loop until ``view`` says it drew ``key`` (or fail after ``TIMEOUT_MS``)."""
    loop = QEventLoop()
    done = []

    def on_computed(what):
        if what == key:
            done.append(what)
            loop.quit()

    view.computed.connect(on_computed)
    QTimer.singleShot(TIMEOUT_MS, loop.quit)
    loop.exec()
    view.computed.disconnect(on_computed)
    if not done:
        raise SystemExit(f"{view.objectName()}: no {key!r} result ({view.error or 'timed out'})")


def settle(ms: int = 300) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(folder: str = "docs") -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    import pyqtgraph as pg

    pg.setConfigOptions(background="w", foreground="k", antialias=True)  # as the main window has them
    from gdstudio.config import TrainConfig
    from gdstudio.engine.session import Session
    from gdstudio.gui.views.lecture import LandscapeView, RaceView, StepProbeView, SweepView, TwinView
    from gdstudio.gui.worker import session_info

    session = Session(TrainConfig(dataset="digits", steps=60))
    info = session_info(session, "new")
    records = list(session.run(weights_every=0.0))  # every record carries W: a trajectory for the landscape
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)

    def shoot(view) -> None:
        settle()
        path = out / f"view-{view.objectName()}.png"
        view.grab().save(str(path))
        print(f"saved {path}")

    race = RaceView()
    race.resize(WIDTH, HEIGHT)
    race.on_loaded(info)
    race.show()
    race.start_race()
    wait_for(race, "race")
    shoot(race)

    probe = StepProbeView()
    probe.resize(WIDTH, HEIGHT)
    probe.on_loaded(info)  # W₀: a small random W, as in the lecture's table
    probe.show()
    probe.refresh()
    wait_for(probe, "probe")
    shoot(probe)

    landscape = LandscapeView()
    landscape.resize(WIDTH, HEIGHT)
    landscape.on_loaded(info)
    landscape.on_progress(records)
    landscape.show()
    landscape.refresh()
    wait_for(landscape, "landscape")
    shoot(landscape)

    sweep = SweepView()
    sweep.resize(WIDTH, HEIGHT)
    sweep.on_loaded(info)
    sweep.show()
    sweep.trials_spin.setValue(16)
    sweep.epochs_spin.setValue(3.0)
    sweep.start_sweep()
    wait_for(sweep, "sweep")
    sweep.choose(sweep.result["best"])
    wait_for(sweep, "trial")
    shoot(sweep)

    twins = TwinView()
    twins.resize(WIDTH, HEIGHT)
    twins.on_loaded(info)
    twins.show()
    twins.set_difference("loss")
    twins.steps_spin.setValue(600)
    twins.start_twins()
    wait_for(twins, "twins")
    shoot(twins)

    for view in (race, probe, landscape, sweep, twins):
        view.shutdown()
        view.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
