"""Webhooks: a tenant's subscriptions to its events, delivered signed (Standard Webhooks)."""
