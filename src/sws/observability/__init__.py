"""Observability: Prometheus metrics of every SWS process, request ids and structured logs."""
