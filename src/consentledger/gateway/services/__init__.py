"""The gateway's flows, callable without HTTP: reads, consents, enterprise views, administration.

Each service takes the running gateway's context and raises the package's named errors; the
routes parse a request, call one service method and render its result.
"""
