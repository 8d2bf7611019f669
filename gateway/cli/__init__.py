"""The `lgsp` command (main.py) and its sub-commands: init, dev, broker, ops (queues, dlq,
maintenance) and security (clients, keys, audit). May import every room; no room imports it.
"""
