"""The French administrative référentiel, territories and distances.

This package is the bottom layer: it imports nothing else of the project.
"""
