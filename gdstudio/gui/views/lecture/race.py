"""The strategy race: random search, random local search and SGD at the same budget of loss evaluations."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Slot
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QPushButton, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from gdstudio.engine.lecture import LECTURE_ORDER, race
from gdstudio.engine.strategies import EVALUATIONS_PER_STEP
from gdstudio.gui.flow import flow_row, group
from gdstudio.gui.views.lecture.base import LectureView
from gdstudio.gui.views.lecture.jobs import IN_PROCESS, STRATEGY_COLOURS, legend_symbols, percent

DEFAULT_BUDGET = 1000
STRATEGY_TITLES = {"random-search": "Random search", "random-local-search": "Random local search", "sgd": "SGD"}
TABLE_ROWS = (("val_accuracy", "val acc"), ("train_accuracy", "train acc"), ("test_accuracy", "test acc"),
              ("loss", "loss"), ("evaluations", "evaluations"), ("seconds", "seconds"))
"""The final table's rows (one column per strategy): six measures side by side cut their titles in a narrow
dock ("valuatior"), three strategies do not."""
COLUMN_TITLES = {"random-search": "Random\nsearch", "random-local-search": "Random\nlocal\nsearch", "sgd": "SGD"}


def lecture_order_holds(results: dict) -> bool:
    """True when validation accuracy ranks random search < random local search < SGD, as in the lecture."""
    accuracy = [results[name].final["val_accuracy"] for name in LECTURE_ORDER]
    return all(a < b for a, b in zip(accuracy, accuracy[1:]))


class RaceView(LectureView):
    """Race the three strategies from the same seed on the current data set; accuracy against evaluations."""

    object_name = "raceView"
    title = "Strategy race"

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.results: dict | None = None
        self._points: dict[str, tuple[list, list]] = {name: ([], []) for name in LECTURE_ORDER}

        self.budget_spin = QSpinBox()
        self.budget_spin.setObjectName("raceBudgetSpin")
        self.budget_spin.setRange(10, 10_000_000)
        self.budget_spin.setSingleStep(100)
        self.budget_spin.setValue(DEFAULT_BUDGET)
        self.budget_spin.setGroupSeparatorShown(True)
        self.budget_spin.setToolTip("Mini-batch loss evaluations each strategy may spend (SGD spends one per "
                                    "step, the searches two: the current W and the candidate)")
        self.race_button = QPushButton("Race")
        self.race_button.setObjectName("raceButton")
        self.race_button.clicked.connect(self._on_race_clicked)

        self.plot = pg.PlotWidget()
        self.plot.setObjectName("racePlot")
        self.plot.setLabel("bottom", "loss evaluations")
        self.plot.setLabel("left", "validation accuracy (%)")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setYRange(0, 100)
        legend = self.plot.addLegend(offset=(-10, -10))
        legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.curves = {}
        for name in LECTURE_ORDER:
            colour = STRATEGY_COLOURS[name]
            self.curves[name] = self.plot.plot([], [], pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5,
                                               symbolBrush=colour, symbolPen=None, name=STRATEGY_TITLES[name])
            legend_symbols(self.curves[name])  # the legend's markers in colour before the first race

        self.table = QTableWidget(len(TABLE_ROWS), len(LECTURE_ORDER))
        self.table.setObjectName("raceTable")
        self.table.setHorizontalHeaderLabels([COLUMN_TITLES[name] for name in LECTURE_ORDER])
        self.table.setVerticalHeaderLabels([title for _, title in TABLE_ROWS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        # Each column at least as wide as the widest title (the columns share the width equally), so that the
        # table's minimum width says what the view needs and no title is cut.
        header = self.table.horizontalHeader()
        margin = header.style().pixelMetric(header.style().PixelMetric.PM_HeaderMargin)
        widest = max(header.fontMetrics().horizontalAdvance(line) for title in COLUMN_TITLES.values()
                     for line in title.split("\n"))
        header.setMinimumSectionSize(widest + 2 * margin + 8)
        self.table.setMinimumWidth(self.table.verticalHeader().sizeHint().width() + len(LECTURE_ORDER)
                                   * header.minimumSectionSize() + 2 * self.table.frameWidth())
        rows = self.table.verticalHeader().defaultSectionSize() * len(TABLE_ROWS)
        self.table.setFixedHeight(rows + self.table.horizontalHeader().sizeHint().height()
                                  + 2 * self.table.frameWidth() + 2)
        self.verdict_label = QLabel("")
        self.verdict_label.setObjectName("raceVerdict")
        self.verdict_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addLayout(flow_row(group("Budget", self.budget_spin), self.race_button))
        layout.addWidget(self.status_label)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.table)
        layout.addWidget(self.verdict_label)

    # running ------------------------------------------------------------------------------------------------------
    def start_race(self) -> None:
        """Race the three strategies at the chosen budget, in the background."""
        if self.info is None or self.dataset is None or self.job_running("race"):
            return
        config = self.run_config(**IN_PROCESS)
        dataset, budget = self.dataset, int(self.budget_spin.value())
        self.results = None
        self._points = {name: ([], []) for name in LECTURE_ORDER}
        for curve in self.curves.values():
            curve.setData([], [])
        self.table.clearContents()
        self.verdict_label.setText("")
        self.status_label.setText(f"Racing on {self.info.dataset}: {budget:,} loss evaluations each …")

        def work(job):
            def on_progress(strategy, record):
                job.check()
                if record.status == "running":
                    per_step = EVALUATIONS_PER_STEP[strategy]
                    for step, _, _, _, val in record.measurements:
                        job.report((strategy, step * per_step, val))

            return race(config, dataset, budget, on_progress=on_progress)

        self.start_job("race", work, self._on_race_progressed, self._on_race_finished)
        self.jobs_changed()

    @Slot()
    def _on_race_clicked(self) -> None:
        if self.job_running("race"):
            self.cancel_job("race")
        else:
            self.start_race()

    @Slot(object)
    def _on_race_progressed(self, items) -> None:
        for strategy, evaluations, accuracy in items:
            xs, ys = self._points[strategy]
            xs.append(evaluations)
            ys.append(100.0 * accuracy)
        for strategy, (xs, ys) in self._points.items():
            self.curves[strategy].setData(xs, ys)

    @Slot(object)
    def _on_race_finished(self, results) -> None:
        self.results = results
        for name, result in results.items():
            self.curves[name].setData(np.asarray(result.evaluations, float), 100.0 * result.val_accuracy)
        for column, name in enumerate(LECTURE_ORDER):
            values = results[name].row()
            for row, (key, _) in enumerate(TABLE_ROWS):
                value = values[key]
                if key.endswith("accuracy"):
                    text = percent(value)
                elif key == "evaluations":
                    text = f"{value:,}"
                elif key == "seconds":
                    text = f"{value:.2f}"
                else:
                    text = f"{value:.4g}"
                self.table.setItem(row, column, QTableWidgetItem(text))
        if lecture_order_holds(results):
            self.verdict_label.setText("As in the lecture: random search < random local search < SGD "
                                       "(validation accuracy at the same budget).")
        else:
            self.verdict_label.setText("Not the lecture's order this time: try a larger budget, or check α.")
        self.status_label.setText(f"Raced on {self.info.dataset if self.info else ''}: validation accuracy on the "
                                  "full split at the end; the curves use the live subset.")
        self.computed.emit("race")

    def jobs_changed(self) -> None:
        self.race_button.setText("Stop" if self.job_running("race") else "Race")

    def on_loaded(self, info) -> None:
        super().on_loaded(info)
        self.race_button.setEnabled(self.dataset is not None)
        if self.dataset is not None and not self.job_running("race"):
            self.status_label.setText(f"Press Race to run the three strategies on {info.dataset}.")

    def refresh(self) -> None:
        """Nothing to redraw from training: the race runs on its own sessions."""
