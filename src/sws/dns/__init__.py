"""DNS by ISP for the LB zone: each name answers with the shared IPs of the healthy LB nodes
that serve the client's ISP. `model` is the pure answer; `remote` is a PowerDNS remote-backend
(HTTP connector) endpoint that `sws dns serve` runs next to a Debian `pdns-server`."""
