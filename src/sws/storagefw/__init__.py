"""Object-storage firewall, management side: the rules SWS validates and stores on containers."""
