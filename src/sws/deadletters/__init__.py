"""Every refused input in one place, for the operator: notifications SWS could not understand
and payment callbacks it would not credit, each with its reason, source and time."""
