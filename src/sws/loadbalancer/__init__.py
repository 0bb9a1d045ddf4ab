"""Load balancers on shared public IPs: L7 by Host header, L4 by port, instance public domains.

`model` holds the pure values and rules, `renderer` turns a desired state into HAProxy
configuration (pure, Jinja2), `service` holds the use cases, `repository`/`tables` persist.
The node side (HAProxy runtime API, hitless reloads) lives in `sws_agent.lb`; the DNS by ISP
that points names at the shared IPs lives in `sws.dns`.
"""
