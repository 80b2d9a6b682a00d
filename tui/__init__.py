"""cgtui's terminal side: the ``cgtui`` command and the Textual app."""
