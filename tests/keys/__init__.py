"""Who can open what: the version-2 envelope, recipients and identities, version-3 sessions."""
