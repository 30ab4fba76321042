"""3D views: pythreejs widgets, offline HTML pages, matplotlib renders and the notebook helpers."""
