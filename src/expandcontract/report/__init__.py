"""Renderers: text for people, JSON (versioned) for machines."""
