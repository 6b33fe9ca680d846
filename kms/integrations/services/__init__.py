"""Integration use cases: admin settings (admin), answering chat questions (chat), delivering events and
replies (delivery), request signatures (signatures) and sealed secrets (secrets)."""
