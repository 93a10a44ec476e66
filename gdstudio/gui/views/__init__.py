"""The inspection and lecture views: docks of the main window, each fed by the training controller's signals."""
