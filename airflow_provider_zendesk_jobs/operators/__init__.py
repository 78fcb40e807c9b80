"""operators of the Zendesk Jobs provider."""
