"""The seed's domain features on top of the ledger: rewards (``monetization.rewards``) and,
later, subscriptions, payments, the marketplace and licensing."""
