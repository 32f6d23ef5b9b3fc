"""Each user's own settings: language and passkeys."""
