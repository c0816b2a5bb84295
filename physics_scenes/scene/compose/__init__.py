"""Text → scene: a deterministic, offline grammar (``grammar``) over a fixed vocabulary
(``vocabulary``), placed and written as a scene file (``build``)."""
