"""Figures: method comparisons (crops, slider page) and training curves."""
