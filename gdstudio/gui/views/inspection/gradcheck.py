"""The gradient check: analytic ∂L/∂W against finite differences at the current W, coloured by verdict.

The difference is the centred one (the default) or the forward one, the lecture's ``[L(W + h) − L(W)] / h``. The
check (:func:`gdstudio.engine.gradcheck.gradient_check`, extended precision) takes from a fraction of a second
(the 8×8 digits, every entry) to seconds (CIFAR-10, sampled), so it runs on a pool thread, with the timing of the
numerical gradient of every entry against the analytic one (:func:`~gdstudio.engine.gradcheck.time_gradients`,
the lecture's "very slow"). *Sweep h* draws both differences' relative error against h on log-log axes
(:func:`~gdstudio.engine.gradcheck.h_sweep`, float64): the V of truncation against rounding. Per
``shared/NOTES.md`` the jobs' signals are connected only to slots of this view (a GUI-thread QObject), and a job
catches every exception and reports it through ``failed``.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHeaderView, QLabel, QPushButton, QSpinBox,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from gdstudio.config import GRADCHECK_GOOD, GRADCHECK_WRONG
from gdstudio.engine.gradcheck import (ALL_ENTRIES_UP_TO, SWEEP_ENTRIES, GradCheck, GradientTiming, HSweep,
                                       format_seconds, gradient_check, h_sweep, time_gradients, verdict)
from gdstudio.gui.flow import flow_row
from gdstudio.gui.views.inspection.common import PLOT_BACKGROUND, InspectionView, format_value, style_plot
from gdstudio.gui.widgets import SharingSplitter, WrappingColumn, rows_follow_font
from gdstudio.gui.worker import describe_error

VERDICT_COLOURS = {"good": "#c7ecc7", "acceptable": "#eef5c0", "suspicious": "#fde0b0", "wrong": "#f7b9b9"}
VERDICT_POINT_COLOURS = {"good": "#2ca02c", "acceptable": "#9aae1a", "suspicious": "#ff7f0e", "wrong": "#d62728"}
VERDICT_TEXT_COLOURS = {"good": "#1e6e1e", "acceptable": "#4f5c00", "suspicious": "#8a4a00", "wrong": "#b00020"}
"""The headline's colours: the points' hues, darkened until the text has a contrast of at least 4.5 : 1 on the
window's grey (the yellow-green of "acceptable" had 2.2 : 1, weak on a projector; issue 17 item 9)."""
KINK_COLOUR = "#e4e4e4"
DEFAULT_SAMPLE = 200
DEFAULT_BATCH = 100
BATCH_VALUES = 100_000
"""The default batch holds about this many input values (100 images of 8×8 or 28×28, 32 of CIFAR-10's 3,072):
each checked entry evaluates the loss twice in extended precision, which NumPy does without BLAS."""
TABLE_COLUMNS = ("param", "index", "analytic", "numerical", "relative error", "verdict")
METHOD_TEXTS = {"centred": "centred: [L(W+h) − L(W−h)] / 2h", "forward": "forward: [L(W+h) − L(W)] / h"}
"""The method box's entries: each difference as the lecture writes it."""
METHOD_COLOURS = {"forward": (214, 39, 40), "centred": (31, 119, 180)}


class _CheckSignals(QObject):
    """The job's news. Lives in the GUI thread; emitted from the pool thread (queued to the view's slots)."""

    finished = Signal(object)  # (generation, what the work returned, seconds, step)
    failed = Signal(object)  # (generation, message)


class _CheckJob(QRunnable):
    """One piece of work on copies of the weights and the batch (a check, or an h-sweep); touches nothing else."""

    def __init__(self, generation: int, step: int, work) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the view keeps the reference until the news arrives
        self.signals = _CheckSignals()
        self._work = work
        self._generation = generation
        self._step = step

    def run(self) -> None:  # the pool thread's entry point
        started = time.perf_counter()
        try:
            result = self._work()
        except Exception as exc:  # noqa: BLE001 - the view must hear of every failure, or it would wait forever
            self.signals.failed.emit((self._generation, describe_error(exc)))
        else:
            self.signals.finished.emit((self._generation, result, time.perf_counter() - started, self._step))


def _check_and_time(W, b, x, y, loss: str, reg: float, count, method: str):
    """The check, then the time of the numerical gradient of every entry against the analytic one."""
    result = gradient_check(W, b, x, y, loss, reg, count=count, method=method)
    return result, time_gradients(W, b, x, y, loss, reg, method=method, h=result.h)


class GradcheckView(InspectionView):
    """A "Check gradient" button and the table of entries it checked.

    Attributes
    ----------
    result : GradCheck or None
        The last check (of the session now loaded).
    timing : GradientTiming or None
        Its timing of the numerical gradient against the analytic one.
    sweep : HSweep or None
        The last h-sweep (of the session now loaded).
    """

    object_name = "gradcheckView"
    title = "Gradient check"

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.result: GradCheck | None = None
        self.timing: GradientTiming | None = None
        self.sweep: HSweep | None = None
        self.busy = False
        self._generation = 0
        self._job: _CheckJob | None = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._build()

    def _build(self) -> None:
        self.check_button = QPushButton("Check gradient")
        self.check_button.setObjectName("gradcheckButton")
        self.check_button.setToolTip("Compare the analytic gradient with central differences at the current W")
        self.all_check = QCheckBox(f"all entries if ≤ {ALL_ENTRIES_UP_TO:,}")
        self.all_check.setToolTip(f"Check every entry of W and b when they have {ALL_ENTRIES_UP_TO:,} or fewer; "
                                  "otherwise a sample of them")
        self.all_check.setObjectName("gradcheckAllCheck")
        self.all_check.setChecked(True)
        self.count_spin = QSpinBox()
        self.count_spin.setObjectName("gradcheckCountSpin")
        self.count_spin.setRange(1, 100_000)
        self.count_spin.setValue(DEFAULT_SAMPLE)
        self.count_spin.setPrefix("sample ")
        self.count_spin.setSuffix(" entries")
        self.batch_spin = QSpinBox()
        self.batch_spin.setObjectName("gradcheckBatchSpin")
        self.batch_spin.setRange(1, 10_000)
        self.batch_spin.setValue(DEFAULT_BATCH)
        self.batch_spin.setToolTip("The loss is the mean over these images (the first of the training split)")
        self.batch_spin.setPrefix("on ")
        self.batch_spin.setSuffix(" training images")
        self.method_combo = QComboBox()
        self.method_combo.setObjectName("gradcheckMethodCombo")
        for method, text in METHOD_TEXTS.items():
            self.method_combo.addItem(text, method)
        self.method_combo.setToolTip("The finite difference the check compares with: centred (error ∝ h²) or the "
                                     "lecture's forward one (error ∝ h)")
        self.sweep_button = QPushButton("Sweep h")
        self.sweep_button.setObjectName("gradcheckSweepButton")
        self.sweep_button.setToolTip(f"The relative error of both differences (float64) against h from 1e-1 to "
                                     f"1e-10, for the {SWEEP_ENTRIES} entries with the largest gradient")
        self.summary = QLabel("Press “Check gradient” to compare the analytic gradient with a numerical one.")
        self.summary.setObjectName("gradcheckSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.timing_label = QLabel("")
        self.timing_label.setObjectName("gradcheckTiming")
        self.timing_label.setWordWrap(True)
        self.timing_label.setTextFormat(Qt.TextFormat.RichText)
        self.timing_label.hide()

        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setObjectName("gradcheckTable")
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        rows_follow_font(self.table)

        self.plot_widget = pg.PlotWidget(background=PLOT_BACKGROUND)
        self.plot_widget.setObjectName("gradcheckPlot")
        plot = self.plot_widget.getPlotItem()
        style_plot(plot)
        plot.setLogMode(y=True)
        plot.setLabel("left", "relative error")
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.setLabel("bottom", "entry (worst first)")
        for threshold, colour in ((GRADCHECK_GOOD, VERDICT_POINT_COLOURS["good"]),
                                  (1e-4, VERDICT_POINT_COLOURS["suspicious"]),
                                  (GRADCHECK_WRONG, VERDICT_POINT_COLOURS["wrong"])):
            plot.addLine(y=np.log10(threshold), pen=pg.mkPen(colour, style=Qt.PenStyle.DashLine))
        self.scatter = pg.ScatterPlotItem(size=6, pen=None)
        plot.addItem(self.scatter)
        self.plot_widget.setMinimumHeight(140)

        self.sweep_plot = pg.PlotWidget(background=PLOT_BACKGROUND)
        self.sweep_plot.setObjectName("gradcheckSweepPlot")
        sweep_plot = self.sweep_plot.getPlotItem()
        style_plot(sweep_plot)
        sweep_plot.setLogMode(x=True, y=True)
        sweep_plot.setLabel("bottom", "step h")
        sweep_plot.setLabel("left", "relative error")
        for name in ("bottom", "left"):
            sweep_plot.getAxis(name).enableAutoSIPrefix(False)
        sweep_plot.showGrid(x=True, y=True, alpha=0.2)
        legend = sweep_plot.addLegend(offset=(-10, -10))  # bottom right: the V's arms rise at both sides
        legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.sweep_curves = {}
        self.sweep_best = {}
        for method in METHOD_TEXTS:
            colour = METHOD_COLOURS[method]
            self.sweep_curves[method] = sweep_plot.plot([], [], pen=pg.mkPen(colour, width=2), symbol="o",
                                                        symbolSize=5, symbolBrush=colour, symbolPen=None,
                                                        name=method)
            self.sweep_best[method] = sweep_plot.plot([], [], pen=None, symbol="o", symbolSize=13,
                                                      symbolBrush=None, symbolPen=pg.mkPen(colour, width=2))
        self.sweep_plot.setMinimumHeight(140)
        self.sweep_summary = QLabel("Press “Sweep h” to see both differences' error against h.")
        self.sweep_summary.setObjectName("gradcheckSweepSummary")
        self.sweep_summary.setWordWrap(True)
        self.sweep_summary.setTextFormat(Qt.TextFormat.RichText)
        self.sweep_page = WrappingColumn()
        sweep_layout = QVBoxLayout(self.sweep_page)
        sweep_layout.setContentsMargins(0, 2, 0, 0)
        sweep_layout.addWidget(self.sweep_summary)
        sweep_layout.addWidget(self.sweep_plot, 1)
        self.plot_tabs = QTabWidget()
        self.plot_tabs.setObjectName("gradcheckPlotTabs")
        self.plot_tabs.addTab(self.plot_widget, "error by entry")
        self.plot_tabs.addTab(self.sweep_page, "error against h")

        # As many rows as the dock's width needs (one or two in a wide dock, six in the narrowest).
        bar = flow_row(self.check_button, self.batch_spin, self.all_check, self.count_spin, self.sweep_button,
                       self.method_combo)
        splitter = SharingSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.plot_tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        # The splitter shares what the dock has (the table's and plots' own size hints would make the view taller
        # than a 1280×720 dock, with the plots below its edge), but no less than the plots need: in a low dock
        # (1024×768, views below the curves) the view scrolls rather than cutting the h-sweep plot.
        splitter.setChildrenCollapsible(False)
        self.table.setMinimumHeight(90)
        self.splitter = splitter
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addWidget(self.timing_label)
        layout.addWidget(splitter, 1)
        self.setMinimumHeight(360)  # its width: what its controls need (an explicit one would cut them)
        self.check_button.clicked.connect(self.start_check)
        self.sweep_button.clicked.connect(self.start_sweep)

    # fed by the main window ---------------------------------------------------------------------------------
    def on_loaded(self, info) -> None:
        super().on_loaded(info)
        self._generation += 1  # a check still running belongs to the old session: its result is dropped
        self.result = None
        self.timing = None
        self.sweep = None
        self.busy = False
        self.check_button.setEnabled(True)
        self.sweep_button.setEnabled(True)
        self.table.setRowCount(0)
        self.scatter.clear()
        for method in METHOD_TEXTS:
            self.sweep_curves[method].setData([], [])
            self.sweep_best[method].setData([], [])
        self.sweep_summary.setText("Press “Sweep h” to see both differences' error against h.")
        self.timing_label.hide()
        self.summary.setText("Press “Check gradient” to compare the analytic gradient with a numerical one.")
        self.batch_spin.setValue(default_batch(info.num_features))

    def refresh(self) -> None:
        problem = self.ready_message()
        if problem is not None:
            self.show_message(problem)
            return
        self.show_content()
        self.check_button.setEnabled(not self.busy)
        self.sweep_button.setEnabled(not self.busy)
        C, D = self.weights[0].shape
        few = C * (D + 1) <= ALL_ENTRIES_UP_TO
        self.count_spin.setEnabled(not (few and self.all_check.isChecked()))
        self.batch_spin.setMaximum(max(1, self.info.sizes[0]))

    # the check --------------------------------------------------------------------------------------------------
    @property
    def method(self) -> str:
        """The finite difference chosen in the method box."""
        return self.method_combo.currentData()

    def _batch(self) -> tuple[np.ndarray, np.ndarray]:
        batch = min(int(self.batch_spin.value()), len(self.dataset.y_train))
        x = self.preprocess.apply(self.dataset.X_train[:batch])
        return x, np.asarray(self.dataset.y_train[:batch], np.int64)

    def _start(self, work, finished) -> None:
        job = _CheckJob(self._generation, self.step, work)
        job.signals.finished.connect(finished)
        job.signals.failed.connect(self._on_check_failed)
        self._job = job
        self.busy = True
        self.check_button.setEnabled(False)
        self.sweep_button.setEnabled(False)
        self._pool.start(job)

    @Slot()
    def start_check(self) -> None:
        """Check the gradient at the current weights, on a pool thread; ``result`` is set when it is done."""
        if self.busy or self.ready_message() is not None:
            return
        W, b = np.array(self.weights[0], np.float64), np.array(self.weights[1], np.float64)
        C, D = W.shape
        every = self.all_check.isChecked() and C * (D + 1) <= ALL_ENTRIES_UP_TO
        count = None if every else min(int(self.count_spin.value()), C * (D + 1))
        x, y = self._batch()
        loss, reg, method = self.loss_name, self.reg, self.method
        self._start(lambda: _check_and_time(W, b, x, y, loss, reg, count, method), self._on_check_finished)
        what = "every entry" if count is None else f"{count} sampled entries"
        self.summary.setText(f"Checking {what} of ∂L/∂W and ∂L/∂b ({loss}, λ = {reg:g}, {method} difference) on "
                             f"{len(y)} training images at step {self.step}…")

    @Slot()
    def start_sweep(self) -> None:
        """Sweep h for both differences at the current weights, on a pool thread; ``sweep`` is set when done."""
        if self.busy or self.ready_message() is not None:
            return
        W, b = np.array(self.weights[0], np.float64), np.array(self.weights[1], np.float64)
        x, y = self._batch()
        loss, reg = self.loss_name, self.reg
        self._start(lambda: h_sweep(W, b, x, y, loss, reg), self._on_sweep_finished)
        self.sweep_summary.setText(f"Sweeping h from 1e-1 to 1e-10 for both differences ({loss}, λ = {reg:g}) on "
                                   f"{len(y)} training images at step {self.step}…")
        self.plot_tabs.setCurrentWidget(self.sweep_page)

    @Slot(object)
    def _on_check_finished(self, news) -> None:
        generation, (result, timing), seconds, step = news
        self._job_done()
        if generation != self._generation:
            return
        self.result = result
        self.timing = timing
        self._show_result(result, seconds, step)
        self._show_timing(timing)
        self.plot_tabs.setCurrentWidget(self.plot_widget)

    @Slot(object)
    def _on_sweep_finished(self, news) -> None:
        generation, sweep, seconds, step = news
        self._job_done()
        if generation != self._generation:
            return
        self.sweep = sweep
        self._show_sweep(sweep, seconds, step)
        self.plot_tabs.setCurrentWidget(self.sweep_page)  # what the person asked to see, given room
        total = sum(self.splitter.sizes())
        self.splitter.setSizes([total // 3, total - total // 3])

    @Slot(object)
    def _on_check_failed(self, news) -> None:
        generation, message = news
        self._job_done()
        if generation == self._generation:
            colour = VERDICT_TEXT_COLOURS["wrong"]
            self.summary.setText(f"<span style='color:{colour}'>The check failed: {message}</span>")

    def _job_done(self) -> None:
        self._job = None
        self.busy = False
        self.check_button.setEnabled(True)
        self.sweep_button.setEnabled(True)

    def wait_for_check(self, timeout_ms: int = 30_000) -> bool:
        """Block until the pool thread is idle (for scripts and closing); the news still arrives as events."""
        return self._pool.waitForDone(timeout_ms)

    def _show_result(self, result: GradCheck, seconds: float, step: int) -> None:
        entries = sorted(result.entries, key=lambda e: (e.near_kink, -e.relative_error))
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            label = entry.verdict + (" · near a kink (not counted)" if entry.near_kink else "")
            texts = (entry.param, ", ".join(str(i) for i in entry.index), format_value(entry.analytic),
                     format_value(entry.numeric), f"{entry.relative_error:.2e}", label)
            values = (None, None, entry.analytic, entry.numeric, entry.relative_error, None)
            background = QBrush(QColor(KINK_COLOUR if entry.near_kink else VERDICT_COLOURS[entry.verdict]))
            for column, (text, value) in enumerate(zip(texts, values)):
                item = QTableWidgetItem(text)
                item.setBackground(background)
                if value is not None:
                    item.setData(Qt.ItemDataRole.UserRole, float(value))
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        counted = [e for e in entries if not e.near_kink]
        errors = np.array([max(e.relative_error, 1e-17) for e in counted])
        brushes = [pg.mkBrush(VERDICT_POINT_COLOURS[e.verdict]) for e in counted]
        self.scatter.setData(x=np.arange(len(counted)), y=np.log10(errors) if len(errors) else [], brush=brushes)
        kinks = len(entries) - len(counted)
        worst = result.max_relative_error
        colour = VERDICT_TEXT_COLOURS[verdict(worst)]
        text = (f"<b style='color:{colour}'>max relative error {worst:.2e} ({verdict(worst)})</b> over "
                f"{len(counted)} entries ({result.loss}, λ = {result.reg:g}, {result.method} difference, "
                f"h = {result.h:g}, {result.batch} training images, W at step {step}; {seconds:.2f} s)")
        if result.method == "forward":
            text += ("<br>The forward difference's own error falls only like h: it overstates the error the "
                     "centred one would find.")
        if kinks:
            text += (f"<br>{kinks} entries sit within h of a hinge kink: the numerical gradient is unreliable "
                     "there, so they are greyed and not counted.")
        text += ("<br><small>relative error |a − n| / max(|a| + |n|, 1e-8): &lt; 1e-7 good · &lt; 1e-4 acceptable"
                 " · &lt; 1e-2 suspicious · ≥ 1e-2 wrong</small>")
        self.summary.setText(text)


    def _show_timing(self, timing: GradientTiming) -> None:
        how = "measured" if timing.measured else f"extrapolated from {timing.timed_entries:,} entries"
        self.timing_label.setText(
            f"<b>Very slow:</b> the numerical gradient of all {timing.entries:,} entries ({timing.method}, "
            f"{timing.evaluations:,} loss evaluations, float64) took {format_seconds(timing.numerical_seconds)} "
            f"({how}); the analytic one {format_seconds(timing.analytic_seconds)}: <b>{timing.ratio:,.0f}× "
            f"slower</b>. For CIFAR-10's W ({timing.cifar10_entries:,} entries, extrapolated): "
            f"{format_seconds(timing.cifar10_numerical_seconds)} against "
            f"{format_seconds(timing.cifar10_analytic_seconds)}.")
        self.timing_label.show()

    def _show_sweep(self, sweep: HSweep, seconds: float, step: int) -> None:
        for method in METHOD_TEXTS:
            median = np.maximum(sweep.median(method), 1e-17)  # an exact difference has no place on a log axis
            self.sweep_curves[method].setData(sweep.steps, median)
            h, error = sweep.best(method)
            self.sweep_best[method].setData([h], [max(error, 1e-17)])
        lows = ", ".join(f"{method} {sweep.best(method)[1]:.1e} at h = {sweep.best(method)[0]:.1e}"
                         for method in METHOD_TEXTS)
        text = (f"Float64, median over the {len(sweep.entries)} largest entries ({sweep.loss}, {sweep.batch} "
                f"training images, W at step {step}; {seconds:.2f} s): the forward error falls like h, the centred "
                f"like h², until rounding (≈ ε·L / h) takes over. Lowest: {lows}.")
        if sweep.loss == "svm":
            text += " The SVM loss is piecewise linear: both are exact until h steps over a kink."
        self.sweep_summary.setText(text)


def default_batch(num_features: int) -> int:
    """Training images for a check: ``DEFAULT_BATCH``, fewer for wide inputs (see ``BATCH_VALUES``), at least 10."""
    return int(min(DEFAULT_BATCH, max(10, BATCH_VALUES // max(num_features, 1))))
