"""Degradation engine: resizing (MATLAB-exact imresize), blur kernels, noise, JPEG and YAML-driven pipelines.

Images are torch float32 tensors (B, C, H, W) in [0, 1], RGB, on CPU or GPU.
"""
