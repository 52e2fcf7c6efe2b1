"""Helpers that run real servers on loopback, shared by the tests and the benchmarks.

* ``processes``: start and stop one ``activekv-server`` or ``redis-server`` process
  (``ServerProcess``, ``start_activekv``, ``start_redis``, ``free_port``);
* ``faultproxy``: ``FaultProxy``, a TCP proxy that can delay, throttle, cut or partition a link;
* ``regions``: ``Cluster``, several peered regions with a fault proxy on every link.

Nothing here is imported by the server itself; it ships with the package so that the
benchmarks never import ``tests/``.
"""
