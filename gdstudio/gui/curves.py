"""The live curves: ``lossPlot`` (total, data and regularisation loss) and ``accuracyPlot`` (train, validation).

Records go into a :class:`~gdstudio.gui.series.RunCurves` as they arrive; a timer then redraws the curves that
already exist with ``setData`` (pyqtgraph's scrolling-plots pattern), one plot per tick, from at most ~1,200
points per curve, no more than ~30 times a second and spaced out when drawing gets expensive. The timer runs only
while a plot is out of date: an idle window never wakes up for its curves (issue 17 item 6). Live changes of
α, λ, batch size and loss are labelled vertical lines; kept runs are faded dashed overlays.

Drawing is kept cheap on purpose (measured with ``tests/bench/gui_throughput.py``): no antialiasing, opaque
pens, horizontal grid lines only, the axes ranged before the paint (else Qt paints twice), and the accuracy plot
not x-linked to the loss plot (a link repaints it at every loss redraw).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QSizePolicy, QSlider, QSplitter, QVBoxLayout, QWidget)

from gdstudio.gui.flow import flow_row, group
from gdstudio.gui.plotitems import remove_line
from gdstudio.gui.series import X_AXES, RunCurves, display
from gdstudio.gui.views.lessons import adopt_presenter_texts

REDRAW_INTERVAL_MS = 33
"""The shortest time between two redraws (of either plot)."""
LEFT_AXIS_WIDTH = 58
REDRAW_BUSY_FRACTION = 0.15
"""While training runs at full speed, redraws are spaced so that drawing takes at most this share of one CPU.
Painting holds the GIL (PySide6 does not release it in QPainter calls), so this is also about the most the plots
take from the training thread, whose Python between kernel calls needs the GIL too. On a 2-core machine training
the built-in digits flat out, that is 7 to 8 loss-plot frames a second (tests/bench/gui_throughput.py)."""
REDRAW_IDLE_FRACTION = 0.5
"""The share when training is paced or paused: nothing to take time from, so nearly every tick redraws."""
SMOOTHING_STEPS = 100
"""The smoothing slider's positions: weight = position / SMOOTHING_STEPS (0 … 0.99)."""

LOSS_CURVES = (("loss", "total loss", (31, 119, 180)), ("data_loss", "data loss", (255, 127, 14)),
               ("reg_loss", "regularisation λ‖W‖²", (44, 160, 44)))
ACCURACY_CURVES = (("train_accuracy", "train (subset)", (31, 119, 180)),
                   ("val_accuracy", "validation (subset)", (255, 127, 14)))
KEPT_COLOURS = ((148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34),
                (23, 190, 207))
RAW_CURVES = ("loss",)
"""Curves drawn raw (faint) behind their smoothed line: the total loss only; the data loss would draw nearly the
same band again, at a cost in every frame."""
LEGEND_ROW_SPACING = -6
"""Pixels between legend rows (negative: closer than the rows' own boxes, which have room above and below)."""
MARKER_COLOUR = (90, 90, 90)
MAX_MARKERS = 40
"""Live-change lines drawn at once; older ones are taken off the plots."""
_LABEL_POSITIONS = (0.62, 0.52, 0.42, 0.32)
"""Heights (fractions of the loss plot) of the change labels, in turn: below the legend in the top right corner."""
ROUND_SPANS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
"""While a run trains, the x range spans one of these × a power of ten (the curve at most 25 % short of its end)."""


def round_span(span: float) -> float:
    """The smallest of ``ROUND_SPANS`` × 10ᵏ that is at least ``span`` (> 0)."""
    scale = 10.0 ** math.floor(math.log10(span))
    return next((m * scale for m in ROUND_SPANS if m * scale >= span * (1 - 1e-12)), 10 * scale)


Y_STEPS = 10
"""While a run trains, the loss plot's y range ends on multiples of about a tenth of the curves' span."""
Y_SHRINK = 0.5
"""... and is fitted again when the curves span less than this share of it."""


class RangeHint(pg.GraphicsObject):
    """An invisible item whose data bounds stretch the ranges that its plot autoranges to (pyqtgraph unites the
    bounds of every item): while a run trains, the ranges end at round numbers a little beyond the curves, so that
    they, and the axes and grid drawn from them, change every few seconds instead of at every step, and the
    accuracy plot, which takes the loss plot's x range, need not be redrawn with it (issue 17 item 6)."""

    def __init__(self) -> None:
        super().__init__()
        self.bounds: list[tuple[float, float] | None] = [None, None]

    def set_bounds(self, x: tuple[float, float] | None, y: tuple[float, float] | None) -> None:
        if [x, y] != self.bounds:
            self.bounds = [x, y]
            self.informViewBoundsChanged()

    def dataBounds(self, axis, frac=1.0, orthoRange=None):  # pyqtgraph's item protocol
        return self.bounds[axis]

    def boundingRect(self):  # Qt override
        return QRectF()

    def paint(self, *args) -> None:  # Qt override
        pass


class TimedPlotWidget(pg.PlotWidget):
    """A ``PlotWidget`` that adds up the CPU time it paints with (the redraw timer spaces its ticks by it)."""

    paint_seconds = 0.0
    """CPU seconds of this thread spent painting since the last redraw (reset when the plot is redrawn)."""
    paint_count = 0

    def paintEvent(self, event) -> None:  # Qt override
        started = time.thread_time()
        super().paintEvent(event)
        self.paint_seconds += time.thread_time() - started
        self.paint_count += 1


@dataclass
class KeptRun:
    """A pinned copy of a run's curves, drawn faded behind the live one.

    The loss plot's legend names it by ``name`` ("kept 1") only, the accuracy plot's not at all: its long
    ``label`` (loss, α, λ, batch size, steps) is in the list of kept runs with that name, so that the legends stay
    small over the newest part of the curves.
    """

    label: str
    snapshot: dict
    colour: tuple
    items: list = field(default_factory=list)
    number: int = 1

    @property
    def name(self) -> str:
        return f"kept {self.number}"


class CurvesView(QWidget):
    """The two plots, their options row and the hover read-out.

    Parameters
    ----------
    curves : RunCurves
        The live run's data; the view draws it and never changes it.

    Signals
    -------
    kept_changed()
        A run was kept or removed.
    """

    kept_changed = Signal()

    def __init__(self, curves: RunCurves, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.curves = curves
        self.x_axis = "step"
        self.log_loss = False
        self.smoothing = 0.6
        self.kept: list[KeptRun] = []
        # The data revision each plot shows (the loss plot: RunCurves.revision; the accuracy plot: its
        # evals_revision): each plot is redrawn until it shows the latest one. (One revision for both lost the loss
        # plot's last data whenever a batch came between a loss turn and the accuracy turn.)
        self._drawn = {"loss": -1, "accuracy": -1}
        self._next_redraw = 0.0  # perf_counter() time before which no plot is redrawn
        self.redraw_fraction = REDRAW_IDLE_FRACTION
        """The share of one CPU that drawing may take (see REDRAW_BUSY_FRACTION); the window sets it."""
        self.live = False
        """A run is training (the window sets it with :meth:`set_live`): the x range ends at a round number."""
        self._turn = 0
        self._markers: list[tuple] = []
        self._marked = 0  # how many of the run's changes have been drawn (or skipped as too old)
        self._build()
        # One shot at a time, started when the data changes: a clock ticking at 30 Hz woke an idle window 30
        # times a second to find nothing new.
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer)
        curves.listen(self._schedule)

    # ----------------------------------------------------------------------------------------------------------
    # Layout

    def _build(self) -> None:
        self.x_axis_combo = QComboBox(objectName="xAxisCombo")
        for name, title in X_AXES.items():
            self.x_axis_combo.addItem(title, name)
        self.x_axis_combo.setToolTip("What the x axis of both plots counts")
        self.x_axis_combo.currentIndexChanged.connect(self._on_x_axis_chosen)
        self.log_check = QCheckBox("Log-scale loss", objectName="logLossCheck")
        self.log_check.setToolTip("Draw the loss on a logarithmic axis (L)")
        self.log_check.toggled.connect(self.set_log_loss)
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal, objectName="smoothingSlider")
        self.smoothing_slider.setRange(0, SMOOTHING_STEPS - 1)
        self.smoothing_slider.setValue(round(self.smoothing * SMOOTHING_STEPS))
        self.smoothing_slider.setMaximumWidth(160)
        self.smoothing_slider.setMinimumWidth(60)  # at 1280×720 the options row squeezed it to a few pixels
        self.smoothing_slider.setToolTip("Exponential moving average of the loss; the raw curve stays faint "
                                         "behind it")
        self.smoothing_slider.valueChanged.connect(self._on_smoothing_moved)
        self.smoothing_label = QLabel()
        self.smoothing_label.setMinimumWidth(QLabel("smoothing 0.99").sizeHint().width())
        self._show_smoothing()

        # One row where there is room, more where there is not: the curves' minimum width is then the widest
        # option's, and the separators beside them can move (issue 17 item 5).
        options = flow_row(group("x axis:", self.x_axis_combo), self.log_check,
                           group(self.smoothing_label, self.smoothing_slider), spacing=6)

        self.loss_plot = TimedPlotWidget()  # PlotWidget passes keyword arguments to its PlotItem, not to Qt
        self.loss_plot.setObjectName("lossPlot")
        self.accuracy_plot = TimedPlotWidget()
        self.accuracy_plot.setObjectName("accuracyPlot")
        self.loss_plot.setMinimumHeight(120)  # low enough for the views below the curves on a small screen
        self.accuracy_plot.setMinimumHeight(100)
        for plot in (self.loss_plot, self.accuracy_plot):
            # Horizontal grid lines only, and not the finest level: the grid is redrawn with the axes at every
            # frame, and a full one cost as much as all the curves together.
            plot.showGrid(x=False, y=True, alpha=0.25)
            plot.getAxis("left").setStyle(maxTickLevel=1)
            plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)  # the same width on both: their x axes line up
            plot.setMenuEnabled(True)
            plot.getPlotItem().setContentsMargins(4, 4, 8, 4)
        self.loss_plot.setTitle("Loss")
        self.loss_plot.setLabel("left", "loss")
        # No SI prefix (the loss has no unit to prefix): working it out, pyqtgraph raises 10 to the axis range,
        # which overflowed ("overflow encountered in power") when the log axis was turned on over huge losses.
        self.loss_plot.getAxis("left").enableAutoSIPrefix(False)
        self.accuracy_plot.setTitle("Accuracy")
        self.accuracy_plot.setLabel("left", "accuracy", units="%")
        accuracy_view = self.accuracy_plot.getPlotItem().getViewBox()
        accuracy_view.setLimits(yMin=-2, yMax=102)
        accuracy_view.setYRange(0, 100)  # until there are measurements to range on
        accuracy_view.enableAutoRange(y=True)
        # Not x-linked: a link repaints the accuracy plot whenever the loss plot's range moves, i.e. at every
        # redraw. The accuracy plot takes the loss plot's x range at its own redraws instead, until the user
        # zooms or pans it.
        self._accuracy_follows = True
        self.accuracy_plot.getPlotItem().getViewBox().sigRangeChangedManually.connect(self._on_accuracy_zoomed)
        self._set_x_labels()

        # Rows packed closer than pyqtgraph's (a label's box has room to spare): each kept run adds a row.
        loss_legend = self.loss_plot.addLegend(offset=(-10, 10), labelTextSize="9pt", verSpacing=LEGEND_ROW_SPACING)
        accuracy_legend = self.accuracy_plot.addLegend(offset=(-10, -10), labelTextSize="9pt",
                                                       verSpacing=LEGEND_ROW_SPACING)
        for legend in (loss_legend, accuracy_legend):
            legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self._raw_items, self._smooth_items = {}, {}
        for column, title, colour in LOSS_CURVES:
            if column in RAW_CURVES:
                faint = tuple(round(255 - 0.3 * (255 - c)) for c in colour)  # opaque: blending costs time
                self._raw_items[column] = self.loss_plot.plot(pen=pg.mkPen(faint, width=1))
            self._smooth_items[column] = self.loss_plot.plot(pen=pg.mkPen(colour, width=2), name=title)
        self._accuracy_items = {}
        for column, title, colour in ACCURACY_CURVES:
            self._accuracy_items[column] = self.accuracy_plot.plot(pen=pg.mkPen(colour, width=2), name=title)
        for item in (*self._raw_items.values(), *self._smooth_items.values(), *self._accuracy_items.values()):
            item.setData([], [])

        self._range_hint = RangeHint()
        self.loss_plot.addItem(self._range_hint)

        self._hover_lines = []
        for plot in (self.loss_plot, self.accuracy_plot):
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((0, 0, 0, 60), width=1))
            line.setVisible(False)
            line.setZValue(-10)
            plot.addItem(line, ignoreBounds=True)
            self._hover_lines.append(line)
            plot.scene().sigMouseMoved.connect(self._on_mouse_moved)

        self.readout = QLabel(" ", objectName="readoutLabel")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setToolTip("The values under the mouse pointer")
        # Ignored: a long read-out is cut at the right rather than widening the curves and squeezing the docks.
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        splitter = QSplitter(Qt.Orientation.Vertical, objectName="plotsSplitter")
        self.plots = splitter
        """The widget holding the two plots and nothing else (what *Export plots as PNG* saves)."""
        splitter.addWidget(self.loss_plot)
        splitter.addWidget(self.accuracy_plot)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(options)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.readout)

    # ----------------------------------------------------------------------------------------------------------
    # Options

    def set_x_axis(self, axis: str) -> None:
        if axis not in X_AXES:
            raise ValueError(f"x axis must be one of {', '.join(X_AXES)}, got {axis!r}")
        index = self.x_axis_combo.findData(axis)
        if self.x_axis_combo.currentIndex() != index:
            self.x_axis_combo.setCurrentIndex(index)  # comes back through _on_x_axis_chosen
            return
        self.x_axis = axis
        self._set_x_labels()
        self.loss_plot.enableAutoRange(axis="x")
        self._accuracy_follows = True
        self.redraw(full=True)

    @Slot(bool)
    def set_log_loss(self, on: bool) -> None:
        on = bool(on)
        if self.log_check.isChecked() != on:
            self.log_check.setChecked(on)
            return
        self.log_loss = on
        self.loss_plot.setLogMode(x=False, y=on)
        self.loss_plot.setLabel("left", "loss (log scale)" if on else "loss")
        self.loss_plot.enableAutoRange(axis="y")
        self._drawn["loss"] = -1  # drawn and ranged again at the next tick, also when the run has ended
        self._schedule()

    def set_live(self, live: bool) -> None:
        """Whether a run is training now: while it is, the loss plot's x range reaches ahead to a round number;
        once it stops, the range fits the curves again."""
        if bool(live) != self.live:
            self.live = bool(live)
            self._drawn["loss"] = -1
            self._schedule()

    def set_smoothing(self, weight: float) -> None:
        position = int(round(min(max(weight, 0.0), 0.99) * SMOOTHING_STEPS))
        if self.smoothing_slider.value() != position:
            self.smoothing_slider.setValue(position)
        else:
            self._on_smoothing_moved(position)

    @Slot(int)
    def _on_x_axis_chosen(self, index: int) -> None:
        self.set_x_axis(self.x_axis_combo.itemData(index))

    @Slot(int)
    def _on_smoothing_moved(self, position: int) -> None:
        self.smoothing = position / SMOOTHING_STEPS
        self._show_smoothing()
        self.redraw(full=True)

    def _show_smoothing(self) -> None:
        self.smoothing_label.setText(f"smoothing {self.smoothing:.2f}")

    def _set_x_labels(self) -> None:
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.setLabel("bottom", X_AXES[self.x_axis])

    # ----------------------------------------------------------------------------------------------------------
    # Drawing

    def _stale(self) -> list[str]:
        """The plots that do not show the latest data yet."""
        latest = self._revisions()
        return [name for name, drawn in self._drawn.items() if drawn != latest[name]]

    def _revisions(self) -> dict[str, int]:
        """The data revision each plot must show: the accuracy plot's changes only with the measurements."""
        return {"loss": self.curves.revision, "accuracy": self.curves.evals_revision}

    def _schedule(self) -> None:
        """Redraw what is out of date as soon as the spacing of redraws allows (nothing when it is on its way)."""
        if self._timer.isActive() or not self._stale():
            return
        wait = max(0.0, self._next_redraw - time.perf_counter())
        self._timer.start(math.ceil(1000 * wait))

    def showEvent(self, event) -> None:  # Qt override
        super().showEvent(event)
        self._schedule()  # hidden, it skipped its redraws

    @Slot()
    def _on_timer(self) -> None:
        """Redraw one out-of-date plot per tick (the loss twice for the accuracy once while both are, as the
        accuracy changes slowly), so that each tick's work, and the event loop's wait for it, is one plot's; then
        sleep until the other plot's turn, or until the data changes."""
        if not self.isVisible():
            return  # showEvent schedules again
        revisions = self._revisions()
        stale = self._stale()
        if not stale:
            return
        now = time.perf_counter()
        if now < self._next_redraw:
            self._schedule()
            return
        started = time.thread_time()
        if len(stale) == 2:
            self._turn = (self._turn + 1) % 3
            name = "accuracy" if self._turn == 2 else "loss"
        else:
            name = stale[0]
        plot = self.loss_plot if name == "loss" else self.accuracy_plot
        painted = plot.paint_seconds  # since its last redraw: it paints in the event loop, after this
        if name == "loss":
            self._draw_loss_now(revisions["loss"])
            self._update_markers(reposition=False)
        else:
            self._draw_accuracy_now(revisions["accuracy"])
        cost = time.thread_time() - started + painted  # CPU time, not wall time: waiting for the GIL is free
        self._next_redraw = now + max(cost / self.redraw_fraction, REDRAW_INTERVAL_MS / 1000)
        self._schedule()

    def redraw(self, full: bool = False) -> None:
        """Draw the live curves (and, with ``full``, the kept runs and every marker) from the data now."""
        revisions = self._revisions()
        if full:
            self._accuracy_follows = True
            for kept in self.kept:  # first: the loss plot ranges over them, and the accuracy plot takes its range
                self._draw_kept(kept)
        self._draw_loss_now(revisions["loss"])
        self._draw_accuracy_now(revisions["accuracy"])
        self._update_markers(reposition=full)

    def _draw_loss_now(self, revision: int) -> None:
        """The loss curves from the data of ``revision``, ranged now; the accuracy plot is then out of date if
        it follows the loss plot's x range and that range moved."""
        self._redraw_loss()
        self._range_now(self.loss_plot)
        self._drawn["loss"] = revision
        if self._accuracy_follows and len(self.curves):
            loss_x = self.loss_plot.getPlotItem().getViewBox().viewRange()[0]
            accuracy_x = self.accuracy_plot.getPlotItem().getViewBox().viewRange()[0]
            if loss_x != accuracy_x:
                self._drawn["accuracy"] = -1

    def _draw_accuracy_now(self, revision: int) -> None:
        """The accuracy curves from the measurements of ``revision`` (``RunCurves.evals_revision``)."""
        self._redraw_accuracy()
        self._range_now(self.accuracy_plot)
        self._drawn["accuracy"] = revision

    def _redraw_loss(self) -> None:
        steps = self.curves.steps
        x = steps.column(self.x_axis)
        for column, _, _ in LOSS_CURVES:
            x_raw, y_raw, x_smooth, y_smooth = display(x, steps.column(column), self.smoothing)
            if column in self._raw_items:
                self._raw_items[column].setData(x_raw, y_raw, connect="finite")
            self._smooth_items[column].setData(x_smooth, y_smooth, connect="finite")
        ahead_x = ahead_y = None
        if self.live and len(x) >= 2 and x[-1] > x[0]:
            ahead_x = (float(x[0]), float(x[0] + round_span(x[-1] - x[0])))
            ahead_y = self._loss_range_ahead()
        self._range_hint.set_bounds(ahead_x, ahead_y)

    def _loss_range_ahead(self) -> tuple[float, float] | None:
        """The y range to keep while the run trains: the one in force while the curves stay inside it and fill
        at least ``Y_SHRINK`` of it, else the curves' span rounded out to multiples of a round tenth of it (in
        the axis's own units: logarithms on a log axis)."""
        lows, highs = [], []
        for item in (*self._raw_items.values(), *self._smooth_items.values()):
            low, high = item.dataBounds(1) or (None, None)
            if low is not None and high is not None and math.isfinite(low) and math.isfinite(high):
                lows.append(low)
                highs.append(high)
        if not lows:
            return None
        low, high = min(lows), max(highs)
        kept = self._range_hint.bounds[1]
        if kept is not None and kept[0] <= low and high <= kept[1] and high - low >= Y_SHRINK * (kept[1] - kept[0]):
            return kept
        step = round_span((high - low) / Y_STEPS if high > low else max(abs(high), 1.0) / Y_STEPS)
        return math.floor(low / step) * step, math.ceil(high / step) * step

    def _redraw_accuracy(self) -> None:
        evals = self.curves.evals
        x_eval = evals.column(self.x_axis)
        for column, _, _ in ACCURACY_CURVES:
            _, _, x_acc, y_acc = display(x_eval, 100.0 * evals.column(column))  # bin means: a smooth curve
            self._accuracy_items[column].setData(x_acc, y_acc, connect="finite")
        if self._accuracy_follows and len(self.curves):
            low, high = self.loss_plot.getPlotItem().getViewBox().viewRange()[0]
            view = self.accuracy_plot.getPlotItem().getViewBox()
            view.setXRange(low, high, padding=0, update=False)
            view.enableAutoRange(y=True)

    @Slot(object)
    def _on_accuracy_zoomed(self, *args) -> None:
        self._accuracy_follows = False

    @staticmethod
    def _range_now(plot) -> None:
        # Range the axes now: left to the paint, the range changes during the paint, and Qt paints twice.
        plot.getPlotItem().getViewBox().prepareForPaint()
        plot.paint_seconds = 0.0

    def _update_markers(self, reposition: bool) -> None:
        """Draw the newest live changes as labelled lines: at most ``MAX_MARKERS`` (thousands of pyqtgraph items
        would make every repaint crawl; the run's record and the CSV keep every change)."""
        changes = self.curves.changes
        if len(changes) < self._marked:  # the run was reset or replaced
            for _, lines in self._markers:
                self._remove_marker(lines)
            self._markers = []
            self._marked = 0
        if reposition:
            for change, lines in self._markers:
                position = self.curves.x_of_step(change.step, self.x_axis)
                for line in lines:
                    line.setValue(position)
        for change in changes[max(self._marked, len(changes) - MAX_MARKERS):]:
            position = self.curves.x_of_step(change.step, self.x_axis)
            slot = _LABEL_POSITIONS[len(self._markers) % len(_LABEL_POSITIONS)]
            pen = pg.mkPen(MARKER_COLOUR, width=1, style=Qt.PenStyle.DashLine)
            labelled = pg.InfiniteLine(
                pos=position, angle=90, movable=False, pen=pen, label=change.label,
                labelOpts={"position": slot, "color": MARKER_COLOUR, "fill": (255, 255, 255, 210),
                           "movable": True})
            plain = pg.InfiniteLine(pos=position, angle=90, movable=False, pen=pen)
            labelled.setToolTip(f"{change.label} from step {change.step + 1}")
            adopt_presenter_texts(self, [labelled.label])
            self.loss_plot.addItem(labelled, ignoreBounds=True)
            self.accuracy_plot.addItem(plain, ignoreBounds=True)
            self._markers.append((change, (labelled, plain)))
        self._marked = len(changes)
        while len(self._markers) > MAX_MARKERS:
            self._remove_marker(self._markers.pop(0)[1])

    def _remove_marker(self, lines) -> None:
        for plot, line in zip((self.loss_plot, self.accuracy_plot), lines):
            remove_line(plot, line)

    def marker_lines(self) -> list:
        """The labelled change markers on ``lossPlot``, oldest first."""
        return [lines[0] for _, lines in self._markers]

    # ----------------------------------------------------------------------------------------------------------
    # Kept runs

    def keep(self, label: str) -> KeptRun | None:
        """Pin the live curves as a faded overlay labelled ``label``; None when there is nothing to keep."""
        if not len(self.curves):
            return None
        colour = KEPT_COLOURS[len(self.kept) % len(KEPT_COLOURS)]
        number = max((k.number for k in self.kept), default=0) + 1
        kept = KeptRun(label, self.curves.snapshot(), colour, number=number)
        self.kept.append(kept)
        self._draw_kept(kept)
        self.kept_changed.emit()
        return kept

    def remove_kept(self, kept: KeptRun) -> None:
        self._clear_kept_items(kept)
        self.kept.remove(kept)
        self._refit_legends()
        self.kept_changed.emit()

    def clear_kept(self) -> None:
        for kept in list(self.kept):
            self._clear_kept_items(kept)
        self.kept.clear()
        self._refit_legends()
        self.kept_changed.emit()

    def _refit_legends(self) -> None:
        """Shrink the legends to the entries left: a legend's layout keeps the width of the widest entry it ever
        had, so it is emptied and filled again."""
        for plot in (self.loss_plot, self.accuracy_plot):
            legend = plot.getPlotItem().legend
            entries = [(sample.item, label.text) for sample, label in legend.items]
            legend.clear()
            while legend.layout.count():
                legend.layout.removeAt(0)
            for item, name in entries:
                legend.addItem(item, name)

    def _clear_kept_items(self, kept: KeptRun) -> None:
        for plot, item in kept.items:
            plot.removeItem(item)
        kept.items.clear()

    def _draw_kept(self, kept: KeptRun) -> None:
        self._clear_kept_items(kept)
        steps, evals = kept.snapshot["steps"], kept.snapshot["evals"]
        pen = pg.mkPen((*kept.colour, 150), width=2, style=Qt.PenStyle.DashLine)
        stride = max(1, _typical_stride(steps["step"]))
        _, _, x_loss, y_loss = display(steps[self.x_axis], steps["loss"],
                                       self.smoothing ** stride if self.smoothing > 0 else 0.0)
        # Added without a name, so that the plots put no legend entry of their own; then named by the run's label
        # (for whoever lists a plot's curves) while the loss plot's legend says "kept 1" and the accuracy plot's
        # says nothing: the same colour and dash tell which is which, and both legends stay small in the corners
        # where the curves end.
        loss_item = pg.PlotDataItem(x_loss, y_loss, pen=pen, connect="finite")
        accuracy_item = pg.PlotDataItem(evals[self.x_axis], 100.0 * np.asarray(evals["val_accuracy"]), pen=pen,
                                        connect="finite")
        for plot, item in ((self.loss_plot, loss_item), (self.accuracy_plot, accuracy_item)):
            item.setZValue(-5)
            plot.addItem(item)
            kept.items.append((plot, item))
        loss_item.opts["name"] = f"kept: {kept.label}"
        accuracy_item.opts["name"] = f"kept: {kept.label} (val)"
        self.loss_plot.getPlotItem().legend.addItem(loss_item, kept.name)
        loss_item.setToolTip(kept.label)
        accuracy_item.setToolTip(f"{kept.label}: validation accuracy")
        loss_item.setLogMode(False, self.log_loss)

    # ----------------------------------------------------------------------------------------------------------
    # Hover read-out

    @Slot(object)
    def _on_mouse_moved(self, position: QPointF) -> None:
        for plot in (self.loss_plot, self.accuracy_plot):
            if plot.sceneBoundingRect().contains(position) or plot.plotItem.sceneBoundingRect().contains(position):
                x = plot.getPlotItem().getViewBox().mapSceneToView(position).x()
                self.show_values_at(x)
                return

    def show_values_at(self, x: float) -> str:
        """Put the values of the recorded step nearest to ``x`` (on the current axis) in the read-out line."""
        steps = self.curves.steps
        if not len(steps):
            return ""
        column = steps.column(self.x_axis)
        i = int(np.clip(np.searchsorted(column, x), 0, len(column) - 1))
        if i > 0 and abs(column[i - 1] - x) <= abs(column[i] - x):
            i -= 1
        step = int(steps.column("step")[i])
        parts = [f"step {step:,}", f"epoch {steps.column('epoch')[i]:.2f}",
                 f"examples {int(steps.column('examples')[i]):,}",
                 f"loss {steps.column('loss')[i]:.4g} = data {steps.column('data_loss')[i]:.4g} "
                 f"+ reg {steps.column('reg_loss')[i]:.3g}",
                 f"batch accuracy {100 * steps.column('batch_accuracy')[i]:.1f} %"]
        evals = self.curves.evals
        if len(evals):
            j = int(np.searchsorted(evals.column("step"), step, side="right")) - 1
            if j >= 0:
                parts.append(f"train {100 * evals.column('train_accuracy')[j]:.1f} %, "
                             f"val {100 * evals.column('val_accuracy')[j]:.1f} % "
                             f"(at step {int(evals.column('step')[j]):,})")
        text = "  ·  ".join(parts)
        self.readout.setText(text)
        for line in self._hover_lines:
            line.setValue(float(column[i]))
            line.setVisible(True)
        return text

    def clear_readout(self) -> None:
        """Empty the read-out line and hide the hover lines (the data they described is gone)."""
        self.readout.setText(" ")
        for line in self._hover_lines:
            line.setVisible(False)

    def leaveEvent(self, event) -> None:  # Qt override
        for line in self._hover_lines:
            line.setVisible(False)
        super().leaveEvent(event)


def _typical_stride(steps: np.ndarray) -> int:
    if len(steps) < 2:
        return 1
    return int(np.median(np.diff(steps)))


class KeptRunsPanel(QWidget):
    """"Keep this run", the list of kept runs and "Remove"."""

    keep_requested = Signal()

    def __init__(self, view: CurvesView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.keep_button = QPushButton("Keep this run", objectName="keepRunButton")
        self.keep_button.setToolTip("Pin the current curves as a faded overlay to compare the next run with (K)")
        self.keep_button.clicked.connect(self.keep_requested)
        self.remove_button = QPushButton("Remove", objectName="removeKeptButton")
        self.remove_button.setToolTip("Remove the selected kept run from the plots")
        self.remove_button.clicked.connect(self._on_remove)
        self.list = QListWidget(objectName="keptRunsList")
        self.list.setMaximumHeight(110)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        buttons = QHBoxLayout()
        buttons.addWidget(self.keep_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.list)
        view.kept_changed.connect(self._on_kept_changed)
        self._on_kept_changed()

    @Slot()
    def _on_kept_changed(self) -> None:
        self.list.clear()
        for kept in self.view.kept:
            item = QListWidgetItem(f"{kept.label} — {kept.name}")  # the legend's name for it, last
            item.setToolTip(f"{kept.name} on the plots: {kept.label}")
            swatch = pg.mkColor(kept.colour)
            item.setForeground(swatch)
            item.setData(Qt.ItemDataRole.UserRole, id(kept))
            self.list.addItem(item)
        self.list.setVisible(bool(self.view.kept))
        self._update_buttons()

    @Slot()
    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(bool(self.list.selectedItems()))

    @Slot()
    def _on_remove(self) -> None:
        rows = sorted({self.list.row(item) for item in self.list.selectedItems()}, reverse=True)
        for row in rows:
            self.view.remove_kept(self.view.kept[row])
