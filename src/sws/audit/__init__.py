"""The audit log: who did which admin action, to what, when, and with which outcome."""
