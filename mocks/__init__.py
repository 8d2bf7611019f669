"""Stand-ins for the central ministry systems: population, business, insurance.

Each runs as its own process (``python -m mocks.server SYSTEM``) over a
shared synthetic data set (``mocks.data``); docs/mocks.md is the contract.
"""
