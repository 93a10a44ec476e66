"""The lecture's comparisons as views: the strategy race, the step-size probe, the loss landscape, the
hyperparameter sweep and twin training (issue 6), and the mini-batch gradient's noise (issue 16).

Each is a :class:`~gdstudio.gui.views.base.LiveView` fed by the main window; each runs its computations in
background threads of its own (``jobs.BackgroundJob``), never in the training thread and never on the GUI
thread. The window should call ``view.shutdown()`` on close (quitting the application does it too).
"""

from __future__ import annotations

from gdstudio.gui.views.lecture.gradnoise import GradientNoiseView
from gdstudio.gui.views.lecture.landscape import LandscapeView
from gdstudio.gui.views.lecture.probe import StepProbeView
from gdstudio.gui.views.lecture.race import RaceView
from gdstudio.gui.views.lecture.sweep import SweepView
from gdstudio.gui.views.lecture.twin import TwinView

LECTURE_VIEWS = [RaceView, StepProbeView, LandscapeView, SweepView, TwinView, GradientNoiseView]

__all__ = ["LECTURE_VIEWS", "GradientNoiseView", "LandscapeView", "RaceView", "StepProbeView", "SweepView",
           "TwinView"]
