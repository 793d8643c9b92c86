"""Base layer: types and mechanisms every other layer uses. Imports nothing else of the project."""
