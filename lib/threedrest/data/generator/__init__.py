"""The procedural benchmark: rooms, furniture and small objects from part primitives, their scans, and
the ScanRefer-style sentences that pick out one object (``data/embedded.py`` builds and caches it)."""
