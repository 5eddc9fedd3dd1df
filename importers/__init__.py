"""Importers: sources registry, readers, pure normalisers, idempotent load."""
