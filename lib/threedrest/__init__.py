"""threedrest: a reproducibility kit for semi-supervised 3D referring expression segmentation."""

from threedrest import numerics

numerics.configure()  # before numpy and torch are imported: the same CPU code paths on every machine

__version__ = "0.1.0"
