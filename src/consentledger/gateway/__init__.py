"""The gateway: consented reads over HTTP, recorded on the chain before release (FastAPI)."""
