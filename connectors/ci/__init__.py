"""CI sources: GitHub Actions and GitLab pipelines (pull and webhooks)."""
