"""Leader leases: once-only roles (alarm evaluator, month close, reconciler) with fencing."""
