"""The source of truth: models, vocabularies, validation, writes with audit."""
