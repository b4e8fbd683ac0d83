"""Training tasks (classification, reconstruction, picking): config -> data, model, loss."""
