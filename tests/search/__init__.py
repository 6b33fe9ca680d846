"""Tests of kms.search."""
