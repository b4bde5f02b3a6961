"""Plugins that fail, one way per module, for tests/test_cli_faults_round2.py (``NOISEBENCH_PLUGINS=tests.broken_plugins.<name>``).

Not test modules (pytest collects none of them): each is imported only by a CLI subprocess.
"""
