"""The gradient check: analytic ∂L/∂W against central differences at the current W, coloured by verdict.

The check (:func:`gdstudio.engine.gradcheck.gradient_check`, extended precision) takes from a fraction of a second
(the 8×8 digits, every entry) to seconds (CIFAR-10, sampled), so it runs on a pool thread. Per
``shared/NOTES.md`` the job's signals are connected only to slots of this view (a GUI-thread QObject), and the
job catches every exception and reports it through ``failed``.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHeaderView, QLabel, QPushButton, QSpinBox,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from gdstudio.config import GRADCHECK_GOOD, GRADCHECK_WRONG
from gdstudio.engine.gradcheck import ALL_ENTRIES_UP_TO, GradCheck, gradient_check, verdict
from gdstudio.gui.flow import flow_row
from gdstudio.gui.views.inspection.common import PLOT_BACKGROUND, InspectionView, format_value, style_plot
from gdstudio.gui.worker import describe_error

VERDICT_COLOURS = {"good": "#c7ecc7", "acceptable": "#eef5c0", "suspicious": "#fde0b0", "wrong": "#f7b9b9"}
VERDICT_POINT_COLOURS = {"good": "#2ca02c", "acceptable": "#9aae1a", "suspicious": "#ff7f0e", "wrong": "#d62728"}
KINK_COLOUR = "#e4e4e4"
DEFAULT_SAMPLE = 200
DEFAULT_BATCH = 100
BATCH_VALUES = 100_000
"""The default batch holds about this many input values (100 images of 8×8 or 28×28, 32 of CIFAR-10's 3,072):
each checked entry evaluates the loss twice in extended precision, which NumPy does without BLAS."""
TABLE_COLUMNS = ("param", "index", "analytic", "numerical", "relative error", "verdict")


class _CheckSignals(QObject):
    """The job's news. Lives in the GUI thread; emitted from the pool thread (queued to the view's slots)."""

    finished = Signal(object)  # (generation, GradCheck, seconds, step)
    failed = Signal(object)  # (generation, message)


class _CheckJob(QRunnable):
    """One gradient check on copies of the weights and the batch; touches nothing else."""

    def __init__(self, generation: int, step: int, W, b, x, y, loss: str, reg: float, count) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the view keeps the reference until the news arrives
        self.signals = _CheckSignals()
        self._arguments = (np.array(W, np.float64), np.array(b, np.float64), x, y, loss, reg)
        self._count = count
        self._generation = generation
        self._step = step

    def run(self) -> None:  # the pool thread's entry point
        started = time.perf_counter()
        try:
            result = gradient_check(*self._arguments, count=self._count)
        except Exception as exc:  # noqa: BLE001 - the view must hear of every failure, or it would wait forever
            self.signals.failed.emit((self._generation, describe_error(exc)))
        else:
            self.signals.finished.emit((self._generation, result, time.perf_counter() - started, self._step))


class GradcheckView(InspectionView):
    """A "Check gradient" button and the table of entries it checked.

    Attributes
    ----------
    result : GradCheck or None
        The last check (of the session now loaded).
    """

    object_name = "gradcheckView"
    title = "Gradient check"

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.result: GradCheck | None = None
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
        self.summary = QLabel("Press “Check gradient” to compare the analytic gradient with a numerical one.")
        self.summary.setObjectName("gradcheckSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)

        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setObjectName("gradcheckTable")
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)

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

        # As many rows as the dock's width needs (one in a wide dock, four in the narrowest).
        bar = flow_row(self.check_button, self.batch_spin, self.all_check, self.count_spin)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.plot_widget)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)
        self.setMinimumHeight(320)  # its width: what its controls need (an explicit one would cut them)
        self.check_button.clicked.connect(self.start_check)

    # fed by the main window ---------------------------------------------------------------------------------
    def on_loaded(self, info) -> None:
        super().on_loaded(info)
        self._generation += 1  # a check still running belongs to the old session: its result is dropped
        self.result = None
        self.busy = False
        self.table.setRowCount(0)
        self.scatter.clear()
        self.summary.setText("Press “Check gradient” to compare the analytic gradient with a numerical one.")
        self.batch_spin.setValue(default_batch(info.num_features))

    def refresh(self) -> None:
        problem = self.ready_message()
        if problem is not None:
            self.show_message(problem)
            return
        self.show_content()
        self.check_button.setEnabled(not self.busy)
        C, D = self.weights[0].shape
        few = C * (D + 1) <= ALL_ENTRIES_UP_TO
        self.count_spin.setEnabled(not (few and self.all_check.isChecked()))
        self.batch_spin.setMaximum(max(1, self.info.sizes[0]))

    # the check --------------------------------------------------------------------------------------------------
    @Slot()
    def start_check(self) -> None:
        """Check the gradient at the current weights, on a pool thread; ``result`` is set when it is done."""
        if self.busy or self.ready_message() is not None:
            return
        W, b = self.weights
        C, D = W.shape
        every = self.all_check.isChecked() and C * (D + 1) <= ALL_ENTRIES_UP_TO
        count = None if every else min(int(self.count_spin.value()), C * (D + 1))
        batch = min(int(self.batch_spin.value()), len(self.dataset.y_train))
        x = self.preprocess.apply(self.dataset.X_train[:batch])
        y = np.asarray(self.dataset.y_train[:batch], np.int64)
        job = _CheckJob(self._generation, self.step, W, b, x, y, self.loss_name, self.reg, count)
        job.signals.finished.connect(self._on_check_finished)
        job.signals.failed.connect(self._on_check_failed)
        self._job = job
        self.busy = True
        self.check_button.setEnabled(False)
        what = "every entry" if count is None else f"{count} sampled entries"
        self.summary.setText(f"Checking {what} of ∂L/∂W and ∂L/∂b ({self.loss_name}, λ = {self.reg:g}) on "
                             f"{batch} training images at step {self.step}…")
        self._pool.start(job)

    @Slot(object)
    def _on_check_finished(self, news) -> None:
        generation, result, seconds, step = news
        self._job_done()
        if generation != self._generation:
            return
        self.result = result
        self._show_result(result, seconds, step)

    @Slot(object)
    def _on_check_failed(self, news) -> None:
        generation, message = news
        self._job_done()
        if generation == self._generation:
            self.summary.setText(f"<span style='color:#d62728'>The check failed: {message}</span>")

    def _job_done(self) -> None:
        self._job = None
        self.busy = False
        self.check_button.setEnabled(True)

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
        colour = VERDICT_POINT_COLOURS[verdict(worst)]
        text = (f"<b style='color:{colour}'>max relative error {worst:.2e} ({verdict(worst)})</b> over "
                f"{len(counted)} entries ({result.loss}, λ = {result.reg:g}, h = {result.h:g}, {result.batch} "
                f"training images, W at step {step}; {seconds:.2f} s)")
        if kinks:
            text += (f"<br>{kinks} entries sit within h of a hinge kink: the numerical gradient is unreliable "
                     "there, so they are greyed and not counted.")
        text += ("<br><small>relative error |a − n| / max(|a| + |n|, 1e-8): &lt; 1e-7 good · &lt; 1e-4 acceptable"
                 " · &lt; 1e-2 suspicious · ≥ 1e-2 wrong</small>")
        self.summary.setText(text)


def default_batch(num_features: int) -> int:
    """Training images for a check: ``DEFAULT_BATCH``, fewer for wide inputs (see ``BATCH_VALUES``), at least 10."""
    return int(min(DEFAULT_BATCH, max(10, BATCH_VALUES // max(num_features, 1))))
