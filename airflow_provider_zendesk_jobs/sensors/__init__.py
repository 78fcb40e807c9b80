"""sensors of the Zendesk Jobs provider."""
