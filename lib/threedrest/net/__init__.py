"""The network: frozen point backbone, feature caches, batches, views, the 3D-STMN-style decoder and its loss."""
