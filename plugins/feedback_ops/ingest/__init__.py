"""Ingestion: landing discovery, parsing of export files, and the bronze load."""
