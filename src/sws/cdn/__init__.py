"""The CDN: distributions in front of containers and load balancers, Varnish edges, purges."""
