"""One module per source format: a reader choice and a pure normaliser."""
