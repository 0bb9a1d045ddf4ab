"""The SWS filter: operator-managed egress filtering that keeps tenant VMs out of the intranet.

`model` holds the policy, `compiler` turns it into one host's ruleset, `nftables` and
`iptables` render that ruleset, `matching` models the kernel's decision, `service` holds the
use cases and `repository`/`tables` persist them. The node side lives in `sws_agent.netfilter`.
"""
