"""Orientations of a person to a structure (issue 19): the referent's form and list,
the structure's inbox and answers, the SPIE team's rights page, the steering page."""
