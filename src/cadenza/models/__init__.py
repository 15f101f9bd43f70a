"""Models: one interface (`Model`), providers behind it, resolved by name.

Importing this package registers the built-in providers (`providers.register_builtins`).
"""

from .anthropic import AnthropicModel
from .base import Message, Model, ModelRequest, ModelResponse, ResponseFormat
from .local import LocalModel, shutdown_embedded_servers
from .openai import OpenAICompatibleModel
from .pricing import Price, cost_usd, price_for, register_price
from .providers import register_builtins
from .registry import (
    ModelInfo,
    ProviderFactory,
    available_models,
    clear_model_cache,
    register_provider,
    resolve_model,
)

register_builtins()

__all__ = [
    "AnthropicModel",
    "LocalModel",
    "Message",
    "Model",
    "ModelInfo",
    "ModelRequest",
    "ModelResponse",
    "OpenAICompatibleModel",
    "Price",
    "ProviderFactory",
    "ResponseFormat",
    "available_models",
    "clear_model_cache",
    "cost_usd",
    "price_for",
    "register_builtins",
    "register_price",
    "register_provider",
    "resolve_model",
    "shutdown_embedded_servers",
]
