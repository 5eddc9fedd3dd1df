"""The partners' back office: editing offers, freshness, moderation, history."""
