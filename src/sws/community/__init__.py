"""StackLab mode: the free community cloud's leases, idle reclamation and abuse limits."""
