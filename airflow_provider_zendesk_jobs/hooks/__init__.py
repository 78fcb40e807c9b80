"""hooks of the Zendesk Jobs provider."""
