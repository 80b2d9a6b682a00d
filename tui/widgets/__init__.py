"""The app's widgets: views of the session that post messages up and never change a sibling."""
