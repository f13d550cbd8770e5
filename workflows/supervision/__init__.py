"""督查: deadlines across the organization, overdue work, urges and escalations."""
