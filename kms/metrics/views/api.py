"""POST /api/metrics: batches of ticket rows in kms's own field names."""
