"""SWS's Swift proxy middleware: the storage firewall (see `sws_swift.middleware`).

The package imports only the standard library (and, in `middleware`, Swift itself; `redis`
when shared counters are configured), so it installs into a Swift proxy's Python without
SWS's database or web stack. `sws_swift.rules` is the rule format that SWS shares.
"""
