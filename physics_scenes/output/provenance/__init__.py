"""Provenance: the in-signal marks (picture and sound), the signed C2PA manifest and
``verify``. Everything here runs over the deterministic output: the marks are part of
the unsigned bytes (same scene, same bytes), the signature is added last."""
