"""The inspection views of issue 5: inside one step of the linear classifier, live.

Each is a :class:`~gdstudio.gui.views.base.LiveView` with a fixed ``objectName`` (DESIGN §8 style), created by the
main window when it opens:

- ``templatesView`` (:class:`TemplatesView`): each row of W as an image, with ∂L/∂W beside it on demand;
- ``inspectorView`` (:class:`InspectorView`): one image's scores, margins or probabilities, L_i and ∂L_i/∂s, or
  typed scores (the lecture's worked example);
- ``gradcheckView`` (:class:`GradcheckView`): analytic against numerical gradient at the current W;
- ``regionsView`` (:class:`RegionsView`): decision regions and zero-score lines of 2-D data, with draggable points;
- ``confusionView`` (:class:`ConfusionView`): the validation confusion matrix; a click lists a cell's images
  (``cell_clicked`` / ``on_cell_clicked``, to be wired to ``InspectorView.show_cell``).
"""

from __future__ import annotations

from gdstudio.gui.views.inspection.confusion import ConfusionView
from gdstudio.gui.views.inspection.gradcheck import GradcheckView
from gdstudio.gui.views.inspection.inspector import InspectorView
from gdstudio.gui.views.inspection.regions import RegionsView
from gdstudio.gui.views.inspection.templates import TemplatesView

INSPECTION_VIEWS = [TemplatesView, InspectorView, GradcheckView, RegionsView, ConfusionView]

__all__ = ["INSPECTION_VIEWS", "ConfusionView", "GradcheckView", "InspectorView", "RegionsView", "TemplatesView"]
