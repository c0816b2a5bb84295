"""Who may use what: consent records for a person's face and voice (cameo), and the
blocklist of assets and names their owners have withheld.

Checked before a render writes anything: a scene that uses a personal likeness without a
valid consent, or an asset or name on the blocklist, is refused with a located error.
"""
