"""Model builders of core.models.registry: one settings dataclass and builder per model.

Modules import keras only inside their builders, so listing the registry stays cheap.
"""
