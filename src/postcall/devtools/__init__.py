"""Developer tools, kept out of the runtime packages.

- `openai_server.py`     a local OpenAI-compatible chat-completions server (tests, benches, demos).
"""
