"""Test support shipped with the gateway, for this project's tests and any adapter package's.

`rabbit.py` (a virtual host on a broker, the management API), `stack.py` (mocks,
workers and the gateway in one process), `plugin.py` (the `lgsp` pytest plugin:
fixtures for a real broker, a vhost and a stack of the adapters under test). It
may import every room; nothing but tests imports it.
"""
