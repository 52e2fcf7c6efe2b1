# First: the compiled-build guard (a stale compiled module never runs; see activekv_buildguard.py).
import activekv_buildguard

activekv_buildguard.install()
