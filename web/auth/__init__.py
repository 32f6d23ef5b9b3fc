"""Sign-in, enrolment and the passkey ceremonies."""
