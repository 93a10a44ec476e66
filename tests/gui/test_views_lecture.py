"""The lecture's views on their own (no main window), on the embedded digits: race, probe, landscape, sweep,
twins, the lessons menu and presenter mode."""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication, QMenu, QVBoxLayout, QWidget

from gdstudio.config import TrainConfig
from gdstudio.engine.lecture import LECTURE_ORDER, probe_batch, step_size_probe
from gdstudio.engine.lessons import load_lessons
from gdstudio.engine.session import Session
from gdstudio.gui.views.lecture.jobs import BackgroundJob, running_jobs
from gdstudio.gui.views.lecture import (LECTURE_VIEWS, LandscapeView, RaceView, StepProbeView, SweepView,
                                        TwinView)
from gdstudio.gui.views.lessons import LessonCaption, build_lessons_menu, presenter_mode, set_presenter_mode
from gdstudio.gui.worker import session_info
from gdstudio.kernels import reference

JOB_TIMEOUT_MS = 30_000
SWEEP_TIMEOUT_MS = 60_000  # spawns worker processes


class FakeController:
    """Records what a view asks of the training."""

    def __init__(self) -> None:
        self.requests: list[dict] = []

    def request(self, **changes) -> None:
        self.requests.append(changes)


@pytest.fixture(scope="module")
def session():
    session = Session(TrainConfig(dataset="digits", steps=30))
    list(session.run())
    return session


@pytest.fixture(scope="module")
def info(session):
    return session_info(session, "new")


def open_view(qtbot, cls, info, controller=None):
    view = cls(controller)
    qtbot.addWidget(view)
    view.resize(1000, 650)
    view.on_loaded(info)
    view.show()
    return view


def computed(qtbot, view, key, timeout=JOB_TIMEOUT_MS):
    return qtbot.waitSignal(view.computed, timeout=timeout, check_params_cb=lambda done: done == key)


def test_views_have_the_contract_object_names(qtbot):
    names = []
    for cls in LECTURE_VIEWS:
        view = cls()
        qtbot.addWidget(view)
        names.append(view.objectName())
    assert names == ["raceView", "stepProbeView", "landscapeView", "sweepView", "twinView", "gradientNoiseView"]


# -- the race -----------------------------------------------------------------------------------------------------


def test_race_on_digits_shows_the_lectures_order(qtbot, info):
    view = open_view(qtbot, RaceView, info)
    view.budget_spin.setValue(300)
    with computed(qtbot, view, "race"):
        view.race_button.click()
    accuracy = [view.results[name].final["val_accuracy"] for name in LECTURE_ORDER]
    assert accuracy[0] < accuracy[1] < accuracy[2]
    assert all(view.results[name].final["evaluations"] >= 298 for name in LECTURE_ORDER)
    for name in LECTURE_ORDER:  # one chart, accuracy against evaluations
        xs, ys = view.curves[name].getData()
        assert len(xs) >= 3 and xs.max() <= 300 and 0 <= ys.min() and ys.max() <= 100
    # one column per strategy, one row per measure (SGD's validation accuracy, random search's evaluations)
    assert view.table.item(0, 2).text().endswith("%") and view.table.item(4, 0).text() in ("298", "300")
    assert "As in the lecture" in view.verdict_label.text()
    qtbot.waitUntil(lambda: view.race_button.text() == "Race", timeout=JOB_TIMEOUT_MS)


# -- the step-size probe --------------------------------------------------------------------------------------------


def test_probe_curve_equals_the_engines_one_step_losses(qtbot, info, session):
    controller = FakeController()
    view = open_view(qtbot, StepProbeView, info, controller)
    with computed(qtbot, view, "probe"):
        pass  # the views' scheduler refreshes the shown view on its own, which starts the job
    W, b = info.weights
    x, y = probe_batch(session)  # the engine's batch: the view builds the same one from SessionInfo
    np.testing.assert_array_equal(view.batch[1], y)
    np.testing.assert_allclose(view.batch[0], x)
    lrs = view.result["lrs"]
    engine = step_size_probe(W, b, x, y, info.loss, info.reg, lrs)
    np.testing.assert_allclose(view.result["losses"], engine["losses"], rtol=1e-12)
    xs, ys = view.curve.getOriginalDataset()
    np.testing.assert_allclose(xs, lrs)
    finite = np.isfinite(engine["losses"])
    np.testing.assert_allclose(ys[finite], np.asarray(engine["losses"])[finite], rtol=1e-12)
    assert min(engine["losses"]) < engine["loss"] < max(engine["losses"])  # small steps help, large ones explode
    assert lrs[0] < info.lr < lrs[-1]
    assert view.lr_line.isVisible() and view.lr_line.value() == pytest.approx(math.log10(info.lr))

    # "use this α": a click on the curve asks the training for the α of the nearest probed point
    target = lrs[len(lrs) // 3]
    index = lrs.index(target)
    point = QPointF(math.log10(target), math.log10(view.result["losses"][index]))

    def shown(p=point):  # the plot has auto-ranged to the new curve: the point is inside what it shows
        (x0, x1), (y0, y1) = view.plot.getPlotItem().vb.viewRange()
        return x0 < p.x() < x1 and y0 < p.y() < y1

    qtbot.waitUntil(shown, timeout=JOB_TIMEOUT_MS)
    scene_point = view.plot.getPlotItem().vb.mapViewToScene(point)
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=view.plot.mapFromScene(scene_point))
    qtbot.waitUntil(lambda: len(controller.requests) > 0, timeout=JOB_TIMEOUT_MS)
    assert controller.requests[-1] == {"lr": pytest.approx(target)}
    assert view.lr_line.value() == pytest.approx(math.log10(target))


def test_probe_range_follows_the_scale_of_the_images():
    from gdstudio.gui.views.lecture.probe import probe_range

    rng = np.random.default_rng(0)
    raw = rng.standard_normal((50, 3072)) * 62.0  # CIFAR-10's raw pixels around the mean image: the lecture's range
    assert probe_range(raw) == pytest.approx((1e-10, 1e-1))
    low, high = probe_range(raw / 255.0)  # unit-scaled pixels: steps 255² larger
    assert low == pytest.approx(1e-5) and high == pytest.approx(1e4)
    assert probe_range(raw, lr=1e-13)[0] == pytest.approx(1e-14)  # widened to show the α in use


# -- the loss landscape ---------------------------------------------------------------------------------------------


def test_landscape_centre_is_the_current_loss_and_the_path_ends_there(qtbot, info, session):
    view = open_view(qtbot, LandscapeView, info)
    later = Session(TrainConfig(dataset="digits", steps=20), dataset=session.dataset)
    records = list(later.run(max_steps=1, weights_every=0.0)) + list(later.run(weights_every=0.0))
    view.on_progress(records)  # W snapshots ride on the records: the recent trajectory
    assert len(view.trajectory) >= 3
    with computed(qtbot, view, "landscape"):
        pass  # the views' scheduler refreshes the shown view on its own, which starts the job
    W, b = view.weights
    np.testing.assert_array_equal(W, later.weights()[0])
    x, y = view.batch
    assert len(y) == 300
    current = reference.loss_parts(W, b, x, y, info.loss, info.reg)[0]
    result = view.result
    middle = len(result["random"]["t"]) // 2
    assert result["loss"] == pytest.approx(current)
    assert result["random"]["loss"][middle] == pytest.approx(current)
    assert result["down"]["loss"][middle] == pytest.approx(current)
    assert result["down"]["loss"][middle + 1] < current  # a small step down the gradient lowers the loss
    plane = result["plane"]
    centre = len(plane["s"]) // 2
    assert plane["loss"].shape == (25, 25) and plane["loss"][centre, centre] == pytest.approx(current)
    path = plane["trajectory"]
    assert len(path) == len(view.trajectory)
    np.testing.assert_allclose(path[-1], [0.0, 0.0], atol=1e-9)  # the path ends at the current W
    assert np.abs(path).max() <= result["span"]  # and stays on the map
    contour_x = view.contours.xData  # every contour line in one item, NaN between lines
    assert np.isfinite(contour_x).sum() > 0 and np.isnan(contour_x).any() and view.image.image.shape == (25, 25)


# -- the sweep ------------------------------------------------------------------------------------------------------


def test_sweep_runs_in_processes_and_returns_the_best(qtbot, info):
    controller = FakeController()
    view = open_view(qtbot, SweepView, info, controller)
    view.trials_spin.setValue(3)
    view.epochs_spin.setValue(1.0)
    view.set_ranges((1e-3, 3.0), (1e-6, 1e-1))
    with computed(qtbot, view, "sweep", timeout=SWEEP_TIMEOUT_MS):
        view.start_button.click()
    trials = view.result["trials"]
    assert len(trials) == 3 and len(view.scatter.data) == 3
    best = view.result["best"]
    assert best.val_accuracy == max(t.val_accuracy for t in trials) > 0.3
    assert view.best_ring.data["x"][0] == pytest.approx(math.log10(best.lr))
    assert all(text in view.warning_label.text() for text in view.result["warnings"])

    # a click on a point loads its α and λ, and trains it here to show its curves
    spot = next(p for p in view.scatter.points() if p.data() is best)
    with computed(qtbot, view, "trial"):
        view.scatter.sigClicked.emit(view.scatter, [spot], None)
    assert controller.requests[-1] == {"lr": best.lr, "reg": best.reg}
    assert len(view.loss_curve.getData()[0]) > 0 and len(view.accuracy_curve.getData()[0]) > 0


# -- twins ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("difference", ["loss", "lr"])
def test_twins_start_from_one_w0_and_see_identical_batches(qtbot, info, difference):
    view = open_view(qtbot, TwinView, info)
    view.set_difference(difference)
    view.lr_second.setValue(info.lr / 10)
    view.steps_spin.setValue(60)
    with computed(qtbot, view, "twins"):
        view.start_button.click()
    result = view.result
    np.testing.assert_array_equal(*result["w0"])
    turns = result["turns"]
    assert len(turns) >= 6
    assert all(first == second and p == q for first, second, p, q in turns)  # same order arrays, same position
    assert all(record.step == 60 for record in result["final"])
    assert not np.array_equal(result["weights"][0][0], result["weights"][1][0])
    for k in range(2):
        xs, _ = view.loss_items[k].getData()
        assert xs[-1] == 60
        assert not view.template_images[k].pixmap().isNull()


def test_twin_batch_sizes_share_the_example_stream(qtbot, info):
    view = open_view(qtbot, TwinView, info)
    view.set_difference("batch_size")
    view.batch_first.setValue(16)
    view.batch_second.setValue(64)
    view.steps_spin.setValue(40)
    with computed(qtbot, view, "twins"):
        view.start_twins()
    first, second = view.result["final"]
    assert first.epoch == pytest.approx(second.epoch, abs=64 / info.sizes[0])
    assert first.step > second.step


def test_closing_a_view_stops_its_job(qtbot, info):
    view = open_view(qtbot, TwinView, info)
    view.steps_spin.setValue(10_000_000)
    view.start_twins()
    qtbot.waitUntil(lambda: view.loss_items[0].getData()[0] is not None
                    and len(view.loss_items[0].getData()[0]) > 0, timeout=JOB_TIMEOUT_MS)
    view.close()  # returns without waiting for the job (10 million steps would outlast the suite's time limit)
    assert not view._jobs
    qtbot.waitUntil(lambda: running_jobs() == 0, timeout=JOB_TIMEOUT_MS)  # every thread ended and was let go


def test_a_failing_job_reports_and_a_cancelled_one_stops(qtbot):
    def broken(job):
        raise ValueError("no such thing")

    job = BackgroundJob(broken)
    with qtbot.waitSignal(job.failed, timeout=JOB_TIMEOUT_MS) as blocker:
        job.start()
    assert blocker.args[0] == "ValueError: no such thing"
    job.wait()

    def endless(job):
        while True:
            job.report(1)
            job.check()
            time.sleep(0.001)

    job = BackgroundJob(endless)
    job.start()
    with qtbot.waitSignal(job.stopped, timeout=JOB_TIMEOUT_MS):
        job.requestInterruption()
    job.wait()


def test_a_failing_view_job_shows_the_error(qtbot, info):
    view = open_view(qtbot, RaceView, info)

    def bad_race(job):
        raise RuntimeError("kernel exploded")

    view.start_job("race", bad_race)
    qtbot.waitUntil(lambda: view.error is not None, timeout=JOB_TIMEOUT_MS)
    assert "kernel exploded" in view.status_label.text()
    qtbot.waitUntil(lambda: not view._jobs, timeout=JOB_TIMEOUT_MS)  # the view does not wait for it any more


# -- lessons and presenter mode ---------------------------------------------------------------------------------------


def test_lessons_menu_applies_the_lessons_config_and_shows_its_caption(qtbot, tmp_path):
    holder = QWidget()
    qtbot.addWidget(holder)
    caption = LessonCaption()
    QVBoxLayout(holder).addWidget(caption)
    holder.show()
    menu = QMenu(holder)
    applied = []
    helper = build_lessons_menu(menu, applied.append, caption)
    lessons = load_lessons()
    assert len(helper.lesson_actions) == len(lessons) >= 7
    texts = [action.text() for action in menu.actions() if not action.isSeparator()]
    assert len(texts) >= 8 and texts[-1] == "Load lessons from folder…"
    assert not caption.isVisible()
    helper.lesson_actions[1].trigger()
    assert applied == [lessons[1].config] and isinstance(applied[0], TrainConfig)
    assert caption.isVisible() and caption.title_label.text() == lessons[1].title
    assert caption.text_label.text() == lessons[1].caption
    caption.close_button.click()
    assert not caption.isVisible()

    (tmp_path / "mine.json").write_text('{"title": "My lesson", "caption": "Watch this.", '
                                        '"settings": {"dataset": "digits", "lr": 0.01}}', encoding="utf-8")
    assert helper.load_folder(tmp_path) == 1
    mine = helper.lesson_actions[-1]
    assert mine.text() == "My lesson" and menu.actions().index(mine) < len(menu.actions()) - 2
    mine.trigger()
    assert applied[-1].lr == 0.01 and caption.text_label.text() == "Watch this."


def test_presenter_mode_scales_fonts_and_lines_and_back(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    plot = pg.PlotWidget(window)
    curve = plot.plot([0, 1, 2], [1, 0, 1], pen=pg.mkPen("b", width=2), symbol="o", symbolSize=6)
    QVBoxLayout(window).addWidget(plot)
    app = QApplication.instance()
    size = app.font().pointSizeF()
    set_presenter_mode(window, True)
    try:
        assert presenter_mode(window)
        assert app.font().pointSizeF() == pytest.approx(1.5 * size)
        assert curve.opts["pen"].widthF() == pytest.approx(4.0) and curve.opts["symbolSize"] == pytest.approx(9)
        assert plot.getAxis("bottom").style["tickFont"].pointSizeF() == pytest.approx(1.5 * size)
        set_presenter_mode(window, True)  # twice on is still ×1.5
        assert app.font().pointSizeF() == pytest.approx(1.5 * size)
    finally:
        set_presenter_mode(window, False)
    assert not presenter_mode(window)
    assert app.font().pointSizeF() == pytest.approx(size)
    assert pg.mkPen(curve.opts["pen"]).widthF() == pytest.approx(2.0) and curve.opts["symbolSize"] == 6
    assert plot.getAxis("bottom").style["tickFont"] is None
