"""People, profiles, organizations, platform roles and API tokens."""
