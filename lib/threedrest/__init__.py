"""threedrest: a reproducibility kit for semi-supervised 3D referring expression segmentation."""

__version__ = "0.1.0"
