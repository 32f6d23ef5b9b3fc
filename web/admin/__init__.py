"""Administration: users, custom fields, outcomes and cadence, member tiers."""
