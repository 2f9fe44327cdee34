"""maildesk's benchmark: throughput, latency, scale and memory over real servers.

Run it with ``python -m bench.run`` from the project root; see ``bench/README.md``.
"""
