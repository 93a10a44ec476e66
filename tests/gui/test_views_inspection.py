"""The inspection views of issue 5 on their own (no main window), checked against the engine's maths."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, Qt

from gdstudio.config import TrainConfig
from gdstudio.engine.inspect import decision_grid, templates
from gdstudio.engine.session import Session
from gdstudio.gui.views.base import LiveView
from gdstudio.gui.views.inspection import (INSPECTION_VIEWS, ConfusionView, GradcheckView, InspectorView, RegionsView,
                                           TemplatesView)
from gdstudio.gui.worker import session_info
from gdstudio.kernels import reference

OBJECT_NAMES = ["templatesView", "inspectorView", "gradcheckView", "regionsView", "confusionView"]


def _trained(dataset: str, steps: int, **options):
    session = Session(TrainConfig(dataset=dataset, steps=steps, **options))
    records = list(session.run())
    return session, records


@pytest.fixture(scope="module")
def digits():
    session, _ = _trained("digits", 50)
    return session, session_info(session, "new")


@pytest.fixture(scope="module")
def toy():
    session, _ = _trained("toy2d", 150)
    return session, session_info(session, "new")


def open_view(qtbot, view_class, info, **kwargs):
    view = view_class(**kwargs)
    qtbot.addWidget(view)
    view.resize(900, 640)
    view.on_loaded(info)
    view.show()
    qtbot.waitExposed(view)
    drawn(qtbot, view)
    return view


def drawn(qtbot, view):
    """Wait until the view's own refresh (the views' scheduler, on the event loop) has drawn what it was given."""
    qtbot.waitUntil(lambda: not view.stale, timeout=10_000)


def x_of(session, X):
    return session.preprocess.apply(X)


# -- all views --------------------------------------------------------------------------------------------------


def test_the_list_names_every_view_once(qtbot):
    assert [cls.object_name for cls in INSPECTION_VIEWS] == OBJECT_NAMES
    for cls in INSPECTION_VIEWS:
        view = cls()
        qtbot.addWidget(view)
        assert isinstance(view, LiveView) and view.objectName() == cls.object_name
        assert view.title and view.showing_message  # nothing to show before a session


@pytest.mark.parametrize("view_class", INSPECTION_VIEWS, ids=OBJECT_NAMES)
def test_each_view_opens_on_digits_and_toy2d_and_follows_live_weights(qtbot, view_class, digits, toy):
    session, info = digits
    view = open_view(qtbot, view_class, info)
    assert view.showing_message == (view_class is RegionsView)
    # A live record with new weights is stored, not drawn, until the next refresh.
    W, b = session.weights()
    record = _fake_record(step=99, loss_name="svm", reg=0.01, weights=(W * 2, b + 1))
    view.on_progress([record])
    assert view.weights[0] is record.weights[0] and view.loss_name == "svm" and view.reg == 0.01
    drawn(qtbot, view)
    view.on_loaded(toy[1])  # another session: the view follows, and forgets the old record
    drawn(qtbot, view)
    assert view.loss_name == toy[1].loss and view.step == toy[1].step
    assert view.showing_message == (view_class is TemplatesView)


def _fake_record(step, loss_name, reg, weights):
    from gdstudio.engine.progress import Progress

    return Progress(step=step, epoch=1.0, examples_seen=step * 64, evaluations=step, loss=1.0, data_loss=1.0,
                    reg_loss=0.0, batch_accuracy=0.5, lr=0.1, reg=reg, batch_size=64, loss_name=loss_name,
                    strategy="sgd", backend="numpy", examples_per_second=1.0, steps_per_second=1.0,
                    weights=weights)


# -- templates --------------------------------------------------------------------------------------------------


def test_templates_are_the_rows_of_w_reshaped(qtbot, digits):
    session, info = digits
    view = open_view(qtbot, TemplatesView, info)
    W, b = info.weights
    shown = view.shown_templates
    assert shown.shape == (10, 8, 8, 1)
    np.testing.assert_allclose((shown.reshape(10, 64) - 0.5) * 2 * np.abs(W).max(), W, atol=1e-12)
    for c in range(10):  # the pixels drawn: grey, one template per class
        drawn = view.cell_image(c)
        np.testing.assert_allclose(drawn[..., 0], W[c].reshape(8, 8) / (2 * np.abs(W).max()) + 0.5, atol=1e-6)
        np.testing.assert_array_equal(drawn[..., 0], drawn[..., 2])

    view.shared_check.setChecked(False)  # each class on its own scale
    own = view.shown_templates.reshape(10, 64)
    np.testing.assert_allclose(own.min(axis=1), 0) and np.testing.assert_allclose(own.max(axis=1), 1)
    np.testing.assert_allclose(own, templates(W, (8, 8, 1), shared_scale=False).reshape(10, 64))
    assert not view.shows_gradients

    view.gradient_check.setChecked(True)
    X, y = session.dataset.X_train[:256], session.dataset.y_train[:256]
    _, dW, _ = reference.loss_and_grad(W, b, x_of(session, X), y, info.loss, info.reg)
    top = np.abs(dW).max(axis=1, keepdims=True)  # each row on its own scale, zero kept at 0.5
    np.testing.assert_allclose(view.shown_gradients.reshape(10, 64), dW / (2 * top) + 0.5)
    view.shared_check.setChecked(True)
    np.testing.assert_allclose(view.shown_gradients, templates(dW, (8, 8, 1), shared_scale=True))
    assert view.shows_gradients
    lut = pg.colormap.get("CET-D1").getLookupTable(0.0, 1.0, 256)[:, :3] / 255.0  # blue – white – red
    expected = lut[np.clip(np.rint(view.shown_gradients[3, ..., 0] * 255), 0, 255).astype(int)]
    np.testing.assert_allclose(view.cell_image(3, gradient=True), expected, atol=1e-6)
    np.testing.assert_allclose(view.cell_image(3)[..., 0], view.shown_templates[3, ..., 0], atol=1e-6)


def test_templates_say_why_for_points(qtbot, toy):
    view = open_view(qtbot, TemplatesView, toy[1])
    assert view.showing_message and "not image data" in view.message_label.text()
    assert view.shown_templates is None


# -- inspector --------------------------------------------------------------------------------------------------


def test_inspector_numbers_equal_the_reference_for_the_clicked_image(qtbot, digits):
    session, info = digits
    view = open_view(qtbot, InspectorView, info)
    W, b = info.weights
    X, y = session.dataset.X_val, session.dataset.y_val
    assert view.strip.count() == 24
    predicted = reference.predict(W, b, x_of(session, X[:24]))
    marks = [view.strip.item(r).data(Qt.ItemDataRole.UserRole) for r in range(24)]
    assert marks == list(predicted == y[:24])
    assert all(not view.strip.item(r).icon().isNull() for r in range(24))

    rect = view.strip.visualItemRect(view.strip.item(5))
    qtbot.mouseClick(view.strip.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.selected == ("val", 5)
    S = reference.scores(W, b, x_of(session, X[5:6]))
    label = np.array([y[5]])
    svm_loss, svm_dS = reference.svm_data_loss(S, label)
    softmax_loss, softmax_dS = reference.softmax_data_loss(S, label)
    table = view.table_values()
    np.testing.assert_allclose(table[:, 0], S[0], rtol=1e-12)
    np.testing.assert_allclose(table[:, 1], reference.svm_margins(S, label)[0], rtol=1e-12)
    np.testing.assert_allclose(table[:, 2], svm_dS[0], rtol=1e-12)
    np.testing.assert_allclose(table[:, 3], reference.softmax_probabilities(S)[0], rtol=1e-12)
    np.testing.assert_allclose(table[:, 4], softmax_dS[0], rtol=1e-12)
    assert view.maths["svm"]["loss"] == pytest.approx(svm_loss, rel=1e-12)
    assert view.maths["softmax"]["loss"] == pytest.approx(softmax_loss, rel=1e-12)
    assert f"{softmax_loss:.4g}" in view.loss_label.text() and f"{svm_loss:.4g}" in view.loss_label.text()
    np.testing.assert_array_equal(view.image_item.image, X[5].reshape(8, 8))
    # the bars show the scores, and (training with softmax) the probabilities and their gradient
    np.testing.assert_allclose(view.bars[0].opts["height"], S[0])
    np.testing.assert_allclose(view.bars[1].opts["height"], reference.softmax_probabilities(S)[0])
    view.loss_combo.setCurrentIndex(view.loss_combo.findData("svm"))
    np.testing.assert_allclose(view.bars[1].opts["height"], reference.svm_margins(S, label)[0])
    np.testing.assert_allclose(view.bars[2].opts["height"], svm_dS[0])
    assert "L_i = " in view.steps_text.toPlainText()

    view.show_image("train", 3)  # any split, for the confusion view and scripts
    assert view.selected == ("train", 3) and not view.strip.selectedItems()
    S = reference.scores(W, b, x_of(session, session.dataset.X_train[3:4]))
    np.testing.assert_allclose(view.table_values()[:, 0], S[0], rtol=1e-12)
    with pytest.raises(ValueError):
        view.show_image("nope", 0)


def test_inspector_typed_scores_reproduce_the_worked_example(qtbot, digits):
    view = open_view(qtbot, InspectorView, digits[1])
    view.typed_check.setChecked(True)
    assert view.scores_edit.text() == "0.8, 0.3, -0.4" and view.label_spin.value() == 0
    assert view.maths["svm"]["loss"] == pytest.approx(0.5)
    assert view.maths["softmax"]["loss"] == pytest.approx(0.646, abs=5e-4)
    assert view.table.rowCount() == 3 and not view.image_graphics.isVisible()
    assert "0.5" in view.loss_label.text() and "0.6459" in view.loss_label.text()

    view.scores_edit.setText("1, 2, 3, 4")
    view.label_spin.setValue(3)
    S = np.array([[1.0, 2, 3, 4]])
    assert view.maths["softmax"]["loss"] == pytest.approx(reference.softmax_data_loss(S, np.array([3]))[0])
    np.testing.assert_allclose(view.table_values()[:, 3], reference.softmax_probabilities(S)[0])
    view.scores_edit.setText("1, x")
    assert "numbers" in view.error_label.text()
    view.show_image("val", 2)  # picking an image leaves the typed mode
    assert not view.typed_check.isChecked() and view.selected == ("val", 2) and not view.error_label.text()


def test_inspector_works_on_points(qtbot, toy):
    session, info = toy
    view = open_view(qtbot, InspectorView, info)
    view.show_image("val", 4)
    W, b = info.weights
    S = reference.scores(W, b, x_of(session, session.dataset.X_val[4:5]))
    np.testing.assert_allclose(view.table_values()[:, 0], S[0])
    assert "point (" in view.image_caption.text() and not view.image_graphics.isVisible()


# -- gradient check ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_gradient_check_table_is_tight(qtbot, digits, loss):
    session, info = digits
    view = open_view(qtbot, GradcheckView, info)
    view.on_progress([_fake_record(step=50, loss_name=loss, reg=1e-3, weights=info.weights)])
    view.batch_spin.setValue(40)
    qtbot.mouseClick(view.check_button, Qt.MouseButton.LeftButton)
    assert view.busy and not view.check_button.isEnabled()
    qtbot.waitUntil(lambda: view.result is not None, timeout=30_000)
    result = view.result
    assert not view.busy and view.check_button.isEnabled()
    assert result.loss == loss and result.reg == 1e-3 and result.batch == 40
    assert len(result.entries) == 10 * 65  # 650 ≤ 1000: every entry of W and b
    assert result.max_relative_error < 1e-6
    assert view.table.rowCount() == 650
    errors = [view.table.item(r, 4).data(Qt.ItemDataRole.UserRole) for r in range(view.table.rowCount())]
    counted = [e for e, entry in zip(errors, sorted(result.entries, key=lambda e: (e.near_kink, -e.relative_error)))
               if not entry.near_kink]
    assert counted and max(counted) == result.max_relative_error == errors[0]
    assert view.table.item(0, 5).text().split()[0] in ("good", "acceptable")
    assert "max relative error" in view.summary.text()
    # the analytic column is reference.loss_and_grad's gradient on the first 40 training images
    W, b = info.weights
    X, y = session.dataset.X_train[:40], session.dataset.y_train[:40]
    _, dW, db = reference.loss_and_grad(W, b, x_of(session, X), y, loss, 1e-3)
    for row in range(0, 650, 37):
        param, index = view.table.item(row, 0).text(), view.table.item(row, 1).text()
        expected = dW[tuple(int(i) for i in index.split(","))] if param == "W" else db[int(index)]
        assert view.table.item(row, 2).data(Qt.ItemDataRole.UserRole) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_gradient_check_samples_large_w_and_drops_a_stale_result(qtbot, digits, toy):
    info = digits[1]
    view = open_view(qtbot, GradcheckView, info)
    view.all_check.setChecked(False)
    view.count_spin.setValue(25)
    view.batch_spin.setValue(20)
    view.start_check()
    view.on_loaded(toy[1])  # a new session while the check runs: its result must not be shown
    view.wait_for_check()
    qtbot.wait(50)
    assert view.result is None and view.table.rowCount() == 0
    drawn(qtbot, view)
    view.start_check()
    qtbot.waitUntil(lambda: view.result is not None, timeout=30_000)
    assert len(view.result.entries) == 3 * 3 and view.result.max_relative_error < 1e-6


# -- decision regions -------------------------------------------------------------------------------------------


def test_regions_show_the_winning_class_and_the_zero_lines(qtbot, toy):
    session, info = toy
    view = open_view(qtbot, RegionsView, info)
    W, b = info.weights
    _, _, scores = decision_grid(W, b, session.preprocess, 128, 0.0, 255.0)
    np.testing.assert_array_equal(view.region_classes, np.argmax(scores, axis=2))
    palette = np.array(view.regions.image)
    assert palette.shape == (128, 128, 3)
    # each colour of the image is its class's colour: same class, same colour
    for c in range(3):
        colours = palette[view.region_classes == c]
        assert len(colours) and (colours == colours[0]).all()
    # each dashed line passes through points where s_c = 0
    for c, line in enumerate(view.zero_lines):
        foot = np.array([line.pos().x(), line.pos().y()])
        angle = np.deg2rad(line.angle)
        for t in (0.0, 50.0):
            point = foot + t * np.array([np.cos(angle), np.sin(angle)])
            s = reference.scores(W, b, x_of(session, point[None]))[0, c]
            assert abs(s) < 1e-9
    # the points and the loss on them
    np.testing.assert_array_equal(view.points, session.dataset.X_train)
    loss, dW, db = reference.loss_and_grad(W, b, x_of(session, session.dataset.X_train), session.dataset.y_train,
                                           info.loss, info.reg)
    assert view.loss_value == pytest.approx(loss) and np.allclose(view.dW, dW) and np.allclose(view.db, db)
    assert f"{loss:.4g}" in view.loss_label.text()


def test_regions_dragging_a_point_changes_the_loss(qtbot, toy):
    session, info = toy
    view = open_view(qtbot, RegionsView, info)
    W, b = info.weights
    before = view.loss_value
    target = np.array([10.0, 240.0])
    index = 0
    _drag(qtbot, view, view.points[index], target)
    assert view.changed[index] and view.changed.sum() == 1
    np.testing.assert_allclose(view.points[index], target, atol=3.0)  # within a screen pixel or two
    moved = session.dataset.X_train.astype(float)
    moved[index] = view.points[index]
    loss, dW, _ = reference.loss_and_grad(W, b, x_of(session, moved), session.dataset.y_train, info.loss, info.reg)
    assert view.loss_value == pytest.approx(loss) and view.loss_value != pytest.approx(before)
    assert np.allclose(view.dW, dW) and "as they were" in view.loss_label.text()
    np.testing.assert_array_equal(session.dataset.X_train[index], session.dataset.X_train[index])  # untouched

    view.class_combo.setCurrentIndex(2)
    _click(qtbot, view, np.array([128.0, 128.0]))
    assert len(view.labels) == len(session.dataset.y_train) + 1 and view.labels[-1] == 2
    view.reset_button.click()
    assert len(view.labels) == len(session.dataset.y_train) and not view.changed.any()
    assert view.loss_value == pytest.approx(before)


def _widget_pos(view, point):
    box = view.plot.getViewBox()
    scene = box.mapViewToScene(QPointF(float(point[0]), float(point[1])))
    return view.plot_widget.mapFromScene(scene)


def _drag(qtbot, view, start, end):
    qtbot.wait(50)  # painted once: the points' bounds in pixel mode are known only then
    viewport = view.plot_widget.viewport()
    a, z = _widget_pos(view, start), _widget_pos(view, end)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=a)
    for t in np.linspace(0, 1, 8):
        point = a + (z - a) * float(t)
        _send_move(viewport, point)
        qtbot.wait(25)  # pyqtgraph's scene drops mouse moves that come faster than its frame rate
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=z)


def _send_move(widget, point):
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    local = QPointF(point)
    event = QMouseEvent(QEvent.Type.MouseMove, local, widget.mapToGlobal(local), Qt.MouseButton.NoButton,
                        Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def _click(qtbot, view, point):
    qtbot.mouseClick(view.plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=_widget_pos(view, point))


def test_regions_say_why_for_images(qtbot, digits):
    view = open_view(qtbot, RegionsView, digits[1])
    assert view.showing_message and "2-D" in view.message_label.text() and view.region_classes is None


# -- confusion ----------------------------------------------------------------------------------------------------


def test_confusion_matrix_matches_the_accuracy_and_lists_a_cell(qtbot, digits):
    session, info = digits
    clicks = []
    view = open_view(qtbot, ConfusionView, info, on_cell_clicked=lambda *args: clicks.append(args))
    W, b = info.weights
    y_val = session.dataset.y_val
    predicted = reference.predict(W, b, x_of(session, session.dataset.X_val))
    matrix = view.matrix
    assert matrix.sum() == len(y_val) == info.sizes[1]
    assert np.trace(matrix) / matrix.sum() == pytest.approx(np.mean(predicted == y_val))
    assert view.accuracy == pytest.approx(session.evaluate("val")[1], abs=1.5 / len(y_val))
    np.testing.assert_array_equal(matrix.sum(axis=1), np.bincount(y_val, minlength=10))
    np.testing.assert_allclose(view.class_accuracy, np.diag(matrix) / matrix.sum(axis=1))
    assert view._count_texts[3][3].textItem.toPlainText() == str(matrix[3, 3])
    np.testing.assert_allclose(view.accuracy_bars.opts["width"], view.class_accuracy)

    t, p = np.unravel_index(np.argmax(matrix - np.diag(np.diag(matrix)) * 10**6), matrix.shape)  # a mistake
    centre = view.matrix_plot.getViewBox().mapViewToScene(QPointF(p + 0.5, t + 0.5))
    with qtbot.waitSignal(view.cell_clicked, timeout=15_000) as blocker:
        qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.graphics.mapFromScene(centre))
    true_class, predicted_class, indices = blocker.args
    assert (true_class, predicted_class) == (t, p) and view.selected_cell == (t, p)
    np.testing.assert_array_equal(indices, np.flatnonzero((y_val == t) & (predicted == p)))
    assert len(indices) == matrix[t, p] and len(clicks) == 1 and clicks[0][:2] == (t, p)


def test_a_confusion_cell_lists_its_images_in_the_inspector(qtbot, digits):
    session, info = digits
    inspector = open_view(qtbot, InspectorView, info)
    view = open_view(qtbot, ConfusionView, info, on_cell_clicked=inspector.show_cell)
    view.select_cell(true_class=4, predicted_class=4)
    expected = np.flatnonzero((session.dataset.y_val == 4) & (view.predictions == 4))
    np.testing.assert_array_equal(inspector.strip_indices, expected)
    assert inspector.strip.count() == len(expected) and inspector.selected == ("val", int(expected[0]))
    assert "predicted as 4" in inspector.strip_label.text()
    inspector.first_button.click()
    assert inspector.strip.count() == 24


def test_gradient_check_flags_entries_at_a_hinge_kink(qtbot, digits):
    from gdstudio.gui.views.inspection.gradcheck import KINK_COLOUR, VERDICT_COLOURS

    session, info = digits
    W, b = info.weights
    x = x_of(session, session.dataset.X_train[:40])
    y = session.dataset.y_train[:40]
    S = reference.scores(W, b, x)
    j = (y[0] + 1) % 10
    b = b.copy()
    b[j] += S[0, y[0]] - 1 - S[0, j]  # image 0's margin for class j sits exactly on the hinge's kink
    view = open_view(qtbot, GradcheckView, info)
    view.on_progress([_fake_record(step=50, loss_name="svm", reg=0.0, weights=(W, b))])
    view.batch_spin.setValue(40)
    view.start_check()
    qtbot.waitUntil(lambda: view.result is not None, timeout=30_000)
    kinks = [e for e in view.result.entries if e.near_kink]
    assert kinks and view.result.max_relative_error < 1e-6 < view.result.max_relative_error_all
    rows = view.table.rowCount()
    flagged = [r for r in range(rows) if "kink" in view.table.item(r, 5).text()]
    assert flagged == list(range(rows - len(kinks), rows))  # listed last, after the entries that count
    assert view.table.item(flagged[0], 4).background().color().name() == KINK_COLOUR
    verdict = view.table.item(0, 5).text()
    assert view.table.item(0, 4).background().color().name() == VERDICT_COLOURS[verdict]
    assert "hinge kink" in view.summary.text()


def test_a_failing_gradient_check_says_so_and_frees_the_button(qtbot, digits, monkeypatch):
    from gdstudio.gui.views.inspection import gradcheck as insp_gradcheck

    def broken(*args, **kwargs):
        raise RuntimeError("no luck")

    monkeypatch.setattr(insp_gradcheck, "gradient_check", broken)
    view = open_view(qtbot, GradcheckView, digits[1])
    view.start_check()
    qtbot.waitUntil(lambda: not view.busy, timeout=10_000)
    assert view.check_button.isEnabled() and view.result is None
    assert "failed" in view.summary.text() and "no luck" in view.summary.text()


def test_views_draw_the_sessions_own_images_not_a_reload_by_name(qtbot):
    """A run trained on a data set from a file (``--data PATH``, or any set the registry cannot load by name) is
    drawn from the session's own arrays."""
    from tests.conftest import make_dataset

    data = make_dataset(n_train=64, n_val=24, n_test=24, C=3, D=16, name="mnist")  # not the registry's MNIST
    session = Session(TrainConfig(dataset=data.name, steps=5, batch_size=16), dataset=data)
    list(session.run())
    info = session_info(session, "new")
    view = open_view(qtbot, InspectorView, info)
    assert view.dataset is data
    view.on_loaded(info)
    assert view.dataset.X_val is data.X_val
