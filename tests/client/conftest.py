"""The client's tests run against the gateway tests' gateway (one per module)."""

from tests.gateway.conftest import gateway

__all__ = ["gateway"]
