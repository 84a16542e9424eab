"""Memberships: plans and what a tier allows, Stripe Checkout and Billing Portal, the verified webhook,
and the one service that changes a membership (from Stripe's events or an admin's hand)."""
