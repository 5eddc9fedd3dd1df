"""Commands of the `offre` CLI, one module per area; each exposes `commands`,
a list of click commands or groups added to the top-level group."""
