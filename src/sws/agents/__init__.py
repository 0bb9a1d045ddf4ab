"""What SWS knows of its node agents (netfilter, lb, and those to come): are they current."""
