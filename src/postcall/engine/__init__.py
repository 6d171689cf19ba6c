"""The conversation engine: a pure turn function, no I/O."""
