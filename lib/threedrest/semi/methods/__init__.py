"""The compared methods, one file each over one loop; ``threedrest/registry.py`` names them."""
