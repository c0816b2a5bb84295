"""The local verification portal: a web app where anyone can drop a video or image and
see its provenance (the ``verify`` report as a page), and where owners register the
assets they block and see which renders on this installation came near them.
"""
