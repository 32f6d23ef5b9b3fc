"""The start page: Today's follow-ups and recently viewed customers."""
