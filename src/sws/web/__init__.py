"""The web adapter: FastAPI app factory, REST routers and (later) the console."""
