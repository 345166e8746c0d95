"""The gateway: an OpenAI-compatible endpoint over local and remote backends."""
