"""Models: the registry (name -> settings dataclass and builder), summaries, the zoo of builders."""
