"""Learning a camera's degradation from its real photos: KernelGAN kernels, noise patches, DSGAN / CycleGAN models."""
