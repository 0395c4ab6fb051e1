"""What the faces call: JSON search and ask, the HTTP server, the OpenAI-compatible API, LangChain."""
