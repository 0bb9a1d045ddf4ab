"""Cloud drivers: the port SWS talks to a region through, and its implementations."""
