"""KernelGAN fidelity (issue 19): the original sefibk/KernelGAN and this tool on the same photos with known kernels.

``python -m benchmarks kernelgan-fidelity --original DIR [--iters N] [--photos K] [--seeds S] [--out DIR]``; see
:mod:`benchmarks.kernelgan_fidelity.runner`.
"""
