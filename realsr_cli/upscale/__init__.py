"""Upscaling images with SR models: tiling, self-ensemble, model ensembles, colour fix, precision safety, pipeline."""
