"""The client's tests run against the enterprise-facing tests' gateway (one per session)."""

from tests.gateway.conftest import bureau_url, gateway

__all__ = ["bureau_url", "gateway"]
