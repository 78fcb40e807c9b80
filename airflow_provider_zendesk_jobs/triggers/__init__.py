"""triggers of the Zendesk Jobs provider."""
