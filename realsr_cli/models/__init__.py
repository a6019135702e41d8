"""SR model files: this tool's ``model.pt`` (checkpoint.py), foreign checkpoints and the shipped default (loading.py)."""
