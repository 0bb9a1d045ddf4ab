"""SWS: the public-cloud layer an OpenStack operator adds on top of Nova, Neutron and Swift."""

__version__ = "0.1.0"
