"""Models: one interface (`Model`), providers behind it, resolved by name."""

from .base import Message, Model, ModelRequest, ModelResponse

__all__ = ["Message", "Model", "ModelRequest", "ModelResponse"]
