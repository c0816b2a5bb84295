"""The physics probe: any video → tracked objects → physics estimates and violations.

Reads a clip (``source``), undoes a moving camera (``camera`` from a states file,
``motion`` from the picture), finds moving objects against a background model
(``detect``), follows them with Hungarian assignment (``track``), fits free-flight arcs
and bounces (``estimate``), checks gravity and bounces (``dynamics``), permanence
(``permanence``), size, overlap, merges and splits (``shape``) and spin from a mark
(``spin``), says them in words with a score (``violation``), and writes the trajectories
and a readable report (``report``). ``run`` ties them together; ``command`` is the
``physics-scenes probe`` subcommand. OpenCV is the backend (decoding, masks, connected
components, drawing); SciPy gives the assignment. Of ours it imports only ``frame``, so
it never needs pymunk, pygame or the scene model.
"""
