"""Self-service sign-up and password reset: the cloud's front door (docs/signup.md)."""
