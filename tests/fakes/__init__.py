"""Loopback fakes of the cloud services, for offline tests."""
