"""Training runs: the store, launcher, worker, training loop and its callbacks, run folders."""
