"""Training runs: the store, launcher and worker, the training loop and its callbacks, run folders."""
