"""Chatcast core: events, commands, routing, outgoing queues, config, inference engine, adapters."""

__version__ = "0.1.0"
