"""Search of the offer: the SearchBackend contract and its engines."""
