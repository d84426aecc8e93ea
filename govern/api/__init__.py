"""Shared REST API infrastructure: the base viewset, pagination and error handling."""
